"""Runs as a pandas DataFrame: one row per run, flattened params and final metrics as columns."""

from __future__ import annotations

import math
import operator
import re
from typing import Any, Iterable, Mapping

from .errors import ExptrackError, UnknownNameError

META_COLUMNS = ["run_id", "experiment", "status", "created_at", "sweep_id", "trial_id"]
_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
        ">": operator.gt, "<": operator.lt, "=": operator.eq}
_FILTER = re.compile(r"^\s*([^<>=!\s]+)\s*(>=|<=|==|!=|>|<|=)\s*(.+?)\s*$")


def run_row(run: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """A run as one flat row, with the names of its param and metric columns."""
    row = {"run_id": run.get("run_id"), "experiment": run.get("experiment_name"),
           "status": run.get("status"), "created_at": run.get("created_at"),
           "sweep_id": run.get("sweep_id"), "trial_id": run.get("trial_id")}
    params = _flat(run.get("params") or {})
    metrics = {name: s.get("last") for name, s in (run.get("summary") or {}).items()}
    names = [f"param:{k}" if k in metrics or k in META_COLUMNS else k for k in params]
    for col, v in zip(names, params.values()):
        row[col] = str(v) if isinstance(v, (list, dict)) else v
    row.update(metrics)
    return row, names, list(metrics)


def _flat(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``params.flatten``, with plain dicts (what JSON gives) recognised without the ABC check:
    listing 10,000 runs spent a third of ``runs_frame`` in ``isinstance(v, Mapping)``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if type(value) is dict or (not isinstance(value, (str, int, float, list)) and
                                   isinstance(value, Mapping)):
            if value:
                out.update(_flat(value, f"{prefix}{key}."))
                continue
        out[f"{prefix}{key}"] = value
    return out


def runs_frame(runs: Iterable[dict[str, Any]]):
    """DataFrame of runs; ``df.attrs`` holds ``params`` and ``metrics``, the column names of each."""
    import pandas as pd

    rows, param_cols, metric_cols = [], {}, {}
    for run in runs:
        row, p, m = run_row(run)
        rows.append(row)
        param_cols.update(dict.fromkeys(p))
        metric_cols.update(dict.fromkeys(m))
    columns = META_COLUMNS + list(param_cols) + list(metric_cols)
    # column by column: several times faster than a list of dicts for 10,000 runs
    df = pd.DataFrame({c: [row.get(c, math.nan) for row in rows] for c in columns},
                      columns=columns)
    for col in metric_cols:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df.attrs["params"], df.attrs["metrics"] = list(param_cols), list(metric_cols)
    return df


def check_metric(df, metric: str) -> None:
    if metric not in df.attrs.get("metrics", []):
        raise UnknownNameError("metric", metric, df.attrs.get("metrics", []))


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
        raw = raw.strip("'\"")
        if not raw or raw[0] in "<>=!":
            raise ExptrackError(f"malformed filter {part!r}: the value {raw!r} is not a number or word")
        try:
            value: Any = float(raw)
        except ValueError:
            value = raw
        conditions.append((name, op, value))
    return conditions


def apply_filter(df, text: str | None):
    if not text:
        return df
    import pandas as pd

    mask = pd.Series(True, index=df.index)
    for name, op, value in parse_filter(text):
        if name not in df.columns:
            raise UnknownNameError("filter column", name, [c for c in df.columns])
        col = df[name]
        if isinstance(value, float):
            col = pd.to_numeric(col, errors="coerce")
        elif name in df.attrs.get("metrics", []) or op in (">", "<", ">=", "<="):
            raise ExptrackError(f"malformed filter {text!r}: {name!r} compares with numbers, "
                                f"got {value!r}")
        else:
            col = col.astype(str)
        mask &= _OPS[op](col, value).fillna(False).astype(bool)
    return df[mask]


def sort_best_first(df, metric: str | None, mode: str = "max"):
    """Best first by ``metric``; NaN and inf never rank above a finite value."""
    if metric is None:
        metrics = df.attrs.get("metrics", [])
        metric = next((m for m in ("val_acc", "test_acc", "accuracy") if m in metrics), None)
        if metric is None:
            return df.sort_values("created_at", ascending=False, kind="stable")
    check_metric(df, metric)
    check_mode(mode)
    key = df[metric].map(lambda v: v if v is not None and math.isfinite(v) else math.nan)
    order = key.sort_values(ascending=(mode == "min"), na_position="last", kind="stable").index
    return df.loc[order]


def best_row(df, metric: str, mode: str = "max") -> dict[str, Any] | None:
    check_metric(df, metric)
    ranked = sort_best_first(df, metric, mode)
    finite = ranked[ranked[metric].map(lambda v: v is not None and math.isfinite(v))]
    if finite.empty:
        return None
    return finite.iloc[0].to_dict()


def best_run(runs: list[dict[str, Any]], metric: str, mode: str = "max"
             ) -> tuple[dict[str, Any], float] | None:
    """``best_row`` on the runs themselves, without building a DataFrame (or importing pandas):
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
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def varying_params(df) -> list[str]:
    """Param columns whose value differs between runs (all of them for a single run)."""
    params = df.attrs.get("params", [])
    if len(df) <= 1:
        return params
    return [p for p in params if df[p].astype(str).nunique(dropna=False) > 1]


__all__ = ["META_COLUMNS", "apply_filter", "best_row", "best_run", "check_metric", "check_mode", "parse_filter",
           "run_row", "runs_frame", "sort_best_first", "varying_params"]
