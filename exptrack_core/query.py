"""Runs as a table: one row per run, flattened params and final metrics as columns.

The CLI works on ``RunTable`` (plain Python: importing pandas alone costs half a second);
``runs_frame`` gives the same table as a pandas DataFrame for the Python API.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any, Iterable

from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.params import flatten

META_COLUMNS = ["run_id", "experiment", "status", "created_at", "sweep_id", "trial_id"]
_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
        ">": operator.gt, "<": operator.lt, "=": operator.eq}
_FILTER = re.compile(r"^\s*([^<>=!\s]+)\s*(>=|<=|==|!=|>|<|=)\s*(.+?)\s*$")


def run_row(run: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """A run as one flat row, with the names of its param and metric columns."""
    row = {"run_id": run.get("run_id"), "experiment": run.get("experiment_name"),
           "status": run.get("status"), "created_at": run.get("created_at"),
           "sweep_id": run.get("sweep_id"), "trial_id": run.get("trial_id")}
    params = flatten(run.get("params") or {})
    # a metric or param named like a fixed column (run_id, status...) never replaces it: it is
    # shown as metric:NAME / param:NAME (a param named like a metric is param:NAME too)
    metrics = {f"metric:{name}" if name in META_COLUMNS else name: s.get("last")
               for name, s in (run.get("summary") or {}).items()}
    names = [f"param:{k}" if k in metrics or k in META_COLUMNS else k for k in params]
    for col, v in zip(names, params.values()):
        row[col] = str(v) if isinstance(v, (list, dict)) else v
    row.update(metrics)
    return row, names, list(metrics)


class RunTable:
    """Runs as rows of flat columns, without pandas: what the CLI filters, sorts and prints.

    ``rows`` are dicts keyed by column name; ``params`` and ``metrics`` name the columns of each
    kind (metric values are floats, NaN where a run lacks the metric).
    """

    def __init__(self, rows: list[dict[str, Any]], params: list[str], metrics: list[str]):
        self.rows, self.params, self.metrics = rows, params, metrics

    @property
    def columns(self) -> list[str]:
        return META_COLUMNS + self.params + self.metrics

    def __len__(self) -> int:
        return len(self.rows)

    def with_rows(self, rows: list[dict[str, Any]]) -> "RunTable":
        return RunTable(rows, self.params, self.metrics)

    def values(self, columns: list[str]) -> list[list[Any]]:
        return [[row.get(c, math.nan) for c in columns] for row in self.rows]


def _number(value: Any) -> float:
    """A metric cell as a float; anything that is not a number is NaN (like pd.to_numeric)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def runs_table(runs: Iterable[dict[str, Any]]) -> RunTable:
    rows, param_cols, metric_cols = [], {}, {}
    for run in runs:
        row, p, m = run_row(run)
        for name in m:
            row[name] = _number(row[name])
        rows.append(row)
        param_cols.update(dict.fromkeys(p))
        metric_cols.update(dict.fromkeys(m))
    for row in rows:
        for name in metric_cols:
            row.setdefault(name, math.nan)
    return RunTable(rows, list(param_cols), list(metric_cols))


def runs_frame(runs: Iterable[dict[str, Any]]):
    """DataFrame of runs; ``df.attrs`` holds ``params`` and ``metrics``, the column names of each."""
    import pandas as pd

    table = runs_table(runs)
    columns = table.columns
    # column by column: several times faster than a list of dicts for 10,000 runs
    df = pd.DataFrame({c: [row.get(c, math.nan) for row in table.rows] for c in columns},
                      columns=columns)
    for col in table.metrics:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df.attrs["params"], df.attrs["metrics"] = table.params, table.metrics
    return df


def check_metric(table: RunTable, metric: str) -> None:
    if metric not in table.metrics:
        raise UnknownNameError("metric", metric, table.metrics)


def check_mode(mode: str) -> str:
    if mode not in ("max", "min"):
        raise ExptrackError(f"invalid mode {mode!r}; expected 'max' or 'min'")
    return mode


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    """``"val_acc>0.9,model.name==resnet18"`` -> conditions; ``and`` also separates them."""
    conditions = []
    for part in re.split(r"\s*(?:,|\band\b|&&)\s*", text.strip()):
        if not part:
            continue
        m = _FILTER.match(part)
        if not m:
            raise ExptrackError(
                f"malformed filter {part!r}; expected NAME OP VALUE with OP one of "
                f"{', '.join(o for o in _OPS if o != '=')}, e.g. 'val_acc>0.9'")
        name, op, raw = m.groups()
        quoted = raw[:1] in "'\"" and raw[-1:] == raw[:1] and len(raw) > 1
        raw = raw.strip("'\"")
        if not raw or raw[0] in "<>=!":
            raise ExptrackError(f"malformed filter {part!r}: the value {raw!r} is not a number or word")
        value: Any
        if not quoted and raw.lower() in ("true", "false"):  # YAML/JSON booleans, any case
            value = raw.lower() == "true"
        else:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        conditions.append((name, op, value))
    return conditions


def apply_filter(table: RunTable, text: str | None) -> RunTable:
    if not text:
        return table
    rows = table.rows
    for name, op, value in parse_filter(text):
        if name not in table.columns:
            raise UnknownNameError("filter column", name, table.columns)
        compare = _OPS[op]
        if isinstance(value, bool):
            if op not in ("==", "=", "!="):
                raise ExptrackError(f"malformed filter {text!r}: {name!r} {op} {value!r}: a "
                                    "boolean compares with == or != only")
            rows = [r for r in rows if compare(_as_bool(r.get(name)), value)]
        elif isinstance(value, float):
            rows = [r for r in rows if compare(_number(r.get(name, math.nan)), value)]
        elif name in table.metrics or op in (">", "<", ">=", "<="):
            raise ExptrackError(f"malformed filter {text!r}: {name!r} compares with numbers, "
                                f"got {value!r}")
        else:
            rows = [r for r in rows if compare(str(r.get(name, math.nan)), value)]
    return table.with_rows(rows)


def _as_bool(cell: Any) -> bool | None:
    """A cell as a boolean: a bool, or the text a YAML/JSON boolean is written as (any case)."""
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, str) and cell.lower() in ("true", "false"):
        return cell.lower() == "true"
    return None


def sort_best_first(table: RunTable, metric: str | None, mode: str = "max") -> RunTable:
    """Best first by ``metric`` (stable); NaN and inf never rank above a finite value. Without
    a metric: val_acc, test_acc or accuracy when there is one, else the newest first."""
    if metric is None:
        metric = next((m for m in ("val_acc", "test_acc", "accuracy") if m in table.metrics), None)
        if metric is None:
            from exptrack_core.times import instant

            return table.with_rows(sorted(table.rows, key=lambda r: instant(r.get("created_at")),
                                          reverse=True))
    check_metric(table, metric)
    sign = -1.0 if check_mode(mode) == "max" else 1.0

    def key(row: dict[str, Any]) -> tuple[bool, float]:
        v = row.get(metric, math.nan)
        return (True, 0.0) if not math.isfinite(v) else (False, sign * v)

    return table.with_rows(sorted(table.rows, key=key))


def best_run(runs: list[dict[str, Any]], metric: str, mode: str = "max"
             ) -> tuple[dict[str, Any], float] | None:
    """The best run without building a table (or importing pandas):
    the run with the best finite last value of ``metric``, the first of equals, and that value."""
    if not any(metric in (r.get("summary") or {}) for r in runs):
        names = list(dict.fromkeys(n for r in runs for n in (r.get("summary") or {})))
        raise UnknownNameError("metric", metric, names)
    check_mode(mode)
    best, best_value = None, math.nan
    for run in runs:
        value = _finite((run.get("summary") or {}).get(metric, {}).get("last"))
        if value is not None and (best is None or (value > best_value if mode == "max"
                                                   else value < best_value)):
            best, best_value = run, value
    return None if best is None else (best, best_value)


def _finite(value: Any) -> float | None:
    v = _number(value)
    return v if math.isfinite(v) else None


def split_metrics(metrics: list[str], split: str) -> list[str]:
    """The metrics of one data split (``test`` -> ``test_acc``, ``test/loss``); an unknown split
    is an error naming those the metrics have."""
    chosen = [m for m in metrics if m.startswith((f"{split}_", f"{split}/"))]
    if not chosen:
        splits = {re.split(r"[_/]", m, maxsplit=1)[0] for m in metrics if re.search(r"[_/]", m)}
        raise UnknownNameError("split", split, sorted(splits))
    return chosen


def split_default_metric(metrics: list[str], split: str) -> str | None:
    """What ``compare --split test`` ranks by unless told: the split's accuracy or F1."""
    return next((m for m in (f"{split}_acc", f"{split}_f1") if m in metrics), None)


def varying_params(table: RunTable) -> list[str]:
    """Param columns whose value differs between runs (all of them for a single run)."""
    if len(table) <= 1:
        return table.params
    return [p for p in table.params
            if len({str(r.get(p, math.nan)) for r in table.rows}) > 1]


__all__ = ["META_COLUMNS", "RunTable", "apply_filter", "best_run", "check_metric", "check_mode",
           "parse_filter", "run_row", "runs_frame", "runs_table", "sort_best_first",
           "split_default_metric", "split_metrics",
           "varying_params"]
