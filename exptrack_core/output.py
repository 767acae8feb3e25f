"""Rendering DataFrames and records for the terminal and for files: table, csv, json, md, yaml."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, TextIO

from .errors import ExptrackError

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


def render_frame(df, fmt: str = "table", out: TextIO | None = None, title: str | None = None) -> None:
    out = out or sys.stdout
    check_format(fmt, TABLE_FORMATS)
    if fmt == "csv":
        df.to_csv(out, index=False)
    elif fmt == "json":
        records = json.loads(df.to_json(orient="records", default_handler=str))
        json.dump(records, out, indent=1)
        out.write("\n")
    elif fmt == "md":
        cols = [str(c) for c in df.columns]
        out.write("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
        for row in df.itertuples(index=False):
            out.write("| " + " | ".join(fmt_cell(v) for v in row) + " |\n")
    else:
        render_table(list(df.columns), [list(r) for r in df.itertuples(index=False)], out, title)


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


__all__ = ["TABLE_FORMATS", "check_format", "dump_yaml", "fmt_cell", "render_frame", "render_table"]
