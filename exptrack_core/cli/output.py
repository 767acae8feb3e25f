"""Rendering DataFrames and records for the terminal and for files: table, csv, json, md, yaml."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, TextIO

from exptrack_core.errors import ExptrackError

TABLE_FORMATS = ("table", "csv", "json", "md")


def fmt_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    return str(value)


def check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    if fmt not in allowed:
        raise ExptrackError(f"invalid format {fmt!r}; expected one of {', '.join(allowed)}")
    return fmt


def _plain(value: Any) -> Any:
    """A cell for CSV/JSON: None and non-finite floats become empty/null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render_rows(columns: list[str], rows: list[list[Any]], fmt: str = "table",
                out: TextIO | None = None, title: str | None = None) -> None:
    """Rows as a terminal table, CSV, JSON records or a Markdown table."""
    out = out or sys.stdout
    check_format(fmt, TABLE_FORMATS)
    if fmt == "csv":
        write_csv(columns, rows, out)
    elif fmt == "json":
        records = [{c: _plain(v) for c, v in zip(columns, row)} for row in rows]
        json.dump(records, out, indent=1, default=str)
        out.write("\n")
    elif fmt == "md":
        out.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
        for row in rows:
            out.write("| " + " | ".join(fmt_cell(v) for v in row) + " |\n")
    else:
        render_table(columns, rows, out, title)


def write_csv(columns: list[str], rows: list[list[Any]], out: TextIO) -> None:
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([("" if (c := _plain(v)) is None else c) for v in row] for row in rows)


def render_table(columns: list[str], rows: list[list[Any]], out: TextIO | None = None,
                 title: str | None = None) -> None:
    """A terminal table: rich when it is installed and the output is a terminal, plain text else."""
    out = out or sys.stdout
    if out.isatty():
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            pass
        else:
            table = Table(title=title, show_lines=False)
            for c in columns:
                table.add_column(str(c), overflow="fold")
            for r in rows:
                table.add_row(*(fmt_cell(v) for v in r))
            Console(file=out).print(table)
            return
    cells = [[fmt_cell(v) for v in r] for r in rows]
    widths = [max([len(str(c))] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if title:
        out.write(title + "\n")
    out.write("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() + "\n")


def dump_yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


__all__ = ["TABLE_FORMATS", "check_format", "dump_yaml", "fmt_cell", "render_rows", "render_table",
           "write_csv"]
