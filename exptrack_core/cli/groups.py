"""``exptrack compare --group-by`` / ``--baseline``, and the Pareto column of multi-objective sweeps.

A group is the runs with equal values of the grouping keys (by default for a seeded sweep: every
param but the seed). Each row shows n and, per metric, mean ± std and the 95% confidence interval;
with ``--baseline``, the p-value of a t-test of the group against the baseline group: paired
(on the runs of equal seed) when both groups ran the same seeds, Welch's otherwise. The ``test``
column says which one ran.
"""

from __future__ import annotations

import math
from typing import Any

from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.query import RunTable, varying_params
from exptrack_core.stats import describe, paired, welch


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def group_keys(args: Any, table: RunTable, seed_key: str, seeded: bool,
               searched: list[str] = ()) -> list[str] | None:
    """The --group-by keys, checked; a seeded sweep's default (what it searches, and any other
    param that differs, but the seed); None: no grouping."""
    if args.group_by:
        keys = [k.strip() for k in args.group_by.split(",") if k.strip()]
        for k in keys:
            if k not in table.params:
                raise UnknownNameError("--group-by param", k, table.params)
        return keys
    if seeded:
        varying = [p for p in varying_params(table) if p != seed_key]
        return [p for p in table.params if p in searched or p in varying]
    if args.baseline:
        raise ExptrackError("--baseline needs groups: give --group-by KEYS (or compare a "
                            "sweep run with --seeds)")
    return None


def _label(keys: list[str], values: tuple) -> str:
    return ",".join(f"{k}={v}" for k, v in zip(keys, values)) or "all runs"


def _find_baseline(text: str, keys: list[str], groups: dict[tuple, list]) -> tuple:
    if not keys:
        raise ExptrackError(f"--baseline {text!r}: the runs form a single group; group them "
                            "with --group-by KEYS")
    wanted = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in keys:
            raise ExptrackError(f"invalid --baseline {text!r}: expected KEY=VALUE[,KEY=VALUE] over "
                                f"the grouping keys {', '.join(keys)}")
        wanted[keys.index(key.strip())] = value.strip()

    def same(cell: Any, value: str) -> bool:
        if str(cell) == value:
            return True
        try:
            return float(cell) == float(value)
        except (TypeError, ValueError):
            return False

    hits = [g for g in groups if all(same(g[i], v) for i, v in wanted.items())]
    if len(hits) != 1:
        known = "; ".join(_label(keys, g) for g in groups)
        raise ExptrackError(f"--baseline {text!r} matches {len(hits)} groups, not one; the groups: "
                            f"{known}")
    return hits[0]


def _test(rows: list[dict], base: list[dict], metric: str, seed_key: str) -> tuple[float, str]:
    seeds = [r.get(seed_key) for r in rows]
    base_seeds = [r.get(seed_key) for r in base]
    shared = (None not in seeds and len(set(map(str, seeds))) == len(seeds) >= 2
              and sorted(map(str, seeds)) == sorted(map(str, base_seeds)))
    if shared:  # the same seeds: compare run against run of the same seed
        by_seed = {str(r.get(seed_key)): r.get(metric) for r in base}
        pairs = [(r.get(metric), by_seed[str(r.get(seed_key))]) for r in rows]
        pairs = [(a, b) for a, b in pairs if _finite(a) and _finite(b)]
        return paired([a for a, _ in pairs], [b for _, b in pairs]), "paired t"
    a = [r.get(metric) for r in rows if _finite(r.get(metric))]
    b = [r.get(metric) for r in base if _finite(r.get(metric))]
    return welch(a, b), "Welch t"


def grouped(table: RunTable, keys: list[str], metrics: list[str], mode: str, seed_key: str,
            baseline: str | None, numeric: bool, objectives: list[dict] | None = None
            ) -> tuple[list[str], list[list[Any]]]:
    """The grouped table: columns and rows, best mean of ``metrics[0]`` first."""
    groups: dict[tuple, list[dict]] = {}
    for row in table.rows:
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    base = _find_baseline(baseline, keys, groups) if baseline else None
    summaries = {g: {m: describe([r.get(m) for r in rows if _finite(r.get(m))]) for m in metrics}
                 for g, rows in groups.items()}
    sign = -1.0 if mode == "max" else 1.0
    order = sorted(groups, key=lambda g: (summaries[g][metrics[0]].mean is None,
                                          sign * (summaries[g][metrics[0]].mean or 0.0)))
    columns = [*keys, "n"]
    for m in metrics:
        columns += [f"{m} mean", f"{m} std", f"{m} ci95_low", f"{m} ci95_high"] if numeric \
            else [f"{m} mean ± std", f"{m} 95% CI"]
        if base is not None:
            columns.append(f"{m} p")
    if base is not None:
        columns.append("test")
    front = _front(order, summaries, objectives)
    if front is not None:
        columns.append("pareto")
    out = []
    for g in order:
        cells: list[Any] = [*g, len(groups[g])]
        test = ""
        for m in metrics:
            s = summaries[g][m]
            if numeric:
                cells += [s.mean, s.std, s.ci_low, s.ci_high]
            else:
                cells += [_pm(s.mean, s.std), "" if s.ci_low is None else
                          f"[{s.ci_low:.4g}, {s.ci_high:.4g}]"]
            if base is not None:
                if g == base:
                    cells.append(None)
                    test = "baseline"
                else:
                    p, test = _test(groups[g], groups[base], m, seed_key)
                    cells.append(p if numeric or math.isnan(p) else f"{p:.3g}")
        if base is not None:
            cells.append(test)
        if front is not None:
            cells.append("*" if g in front else "")
        out.append(cells)
    return columns, out


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return ""
    return f"{mean:.4g}" if std is None else f"{mean:.4g} ± {std:.2g}"


def _front(order: list[tuple], summaries: dict, objectives: list[dict] | None) -> set | None:
    if not order or not objectives or len(objectives) < 2 or \
            any(o["name"] not in summaries[order[0]] for o in objectives):
        return None
    from exptrack_core.pareto import pareto_front

    points = [[summaries[g][o["name"]].mean for o in objectives] for g in order]
    return {order[i] for i in pareto_front(points, [o.get("goal", "minimize") for o in objectives])}


def pareto_column(columns: list[str], rows: list[list[Any]], table: RunTable,
                  objectives: list[dict]) -> None:
    """Mark (``*``) the rows on the Pareto front of a multi-objective sweep's objectives."""
    from exptrack_core.pareto import pareto_front

    if len(objectives) < 2 or not all(o["name"] in table.metrics for o in objectives):
        return
    points = [[r.get(o["name"]) for o in objectives] if r.get("status") in ("completed", "pruned")
              else [None] for r in table.rows]
    front = set(pareto_front(points, [o.get("goal", "minimize") for o in objectives]))
    columns.append("pareto")
    for i, row in enumerate(rows):
        row.append("*" if i in front else "")


__all__ = ["group_keys", "grouped", "pareto_column"]
