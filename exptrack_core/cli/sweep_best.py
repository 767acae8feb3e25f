"""``exptrack best --sweep`` for a seeded or a multi-objective sweep.

A seeded sweep's best is the configuration with the best mean over its seeds (the runs that make
it are listed); a multi-objective sweep has no single best: its Pareto front is printed, each
entry with its objective values and the command that re-runs it.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from exptrack_core.params import flatten, unflatten


def _last(run: dict[str, Any], metric: str) -> float | None:
    v = ((run.get("summary") or {}).get(metric) or {}).get("last")
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def units(runs: list[dict[str, Any]], seed_key: str | None) -> list[list[dict[str, Any]]]:
    """The runs one result is made of: each run alone, or the runs of one configuration."""
    if not seed_key:
        return [[r] for r in runs]
    groups: dict[str, list] = {}
    for r in runs:
        flat = {k: v for k, v in flatten(r.get("params") or {}).items() if k != seed_key}
        groups.setdefault(json.dumps(flat, sort_keys=True, default=str), []).append(r)
    return list(groups.values())


def mean_of(unit: list[dict[str, Any]], metric: str) -> float | None:
    found = [v for v in (_last(r, metric) for r in unit if r.get("status") in
                         ("completed", "pruned")) if v is not None]
    return sum(found) / len(found) if found else None


def _entry(unit: list[dict[str, Any]], seed_key: str | None, rerun: Callable) -> dict[str, Any]:
    first = next((r for r in unit if r.get("status") == "completed"), unit[0])
    params = first["params"]
    out: dict[str, Any] = {"run_id": first["run_id"]}
    if seed_key:
        params = unflatten({k: v for k, v in flatten(params).items() if k != seed_key})
        out["runs"] = [r["run_id"] for r in unit]
        out["seeds"] = [flatten(r.get("params") or {}).get(seed_key) for r in unit]
    out["params"] = params
    out["rerun"] = rerun(first)
    return out


def seeded_best(runs: list[dict[str, Any]], metric: str, mode: str, seed_key: str,
                rerun: Callable) -> dict[str, Any] | None:
    scored = [(u, mean_of(u, metric)) for u in units(runs, seed_key)]
    scored = [(u, v) for u, v in scored if v is not None]
    if not scored:
        return None
    unit, value = (max if mode == "max" else min)(scored, key=lambda uv: uv[1])
    entry = _entry(unit, seed_key, rerun)
    return {"run_id": entry.pop("run_id"), "experiment": unit[0]["experiment_name"],
            "metric": metric, "mode": mode, "value": value, "n": len(entry["runs"]),
            "sweep_id": unit[0].get("sweep_id"), **entry}


def pareto(runs: list[dict[str, Any]], objectives: list[dict[str, Any]], seed_key: str | None,
           rerun: Callable) -> dict[str, Any]:
    from exptrack_core.pareto import pareto_front

    found = units(runs, seed_key)
    points = [[mean_of(u, o["name"]) for o in objectives] for u in found]
    front = pareto_front(points, [o.get("goal", "minimize") for o in objectives])
    entries = []
    for i in front:
        entry = _entry(found[i], seed_key, rerun)
        entries.append({"run_id": entry.pop("run_id"), "trial_id": found[i][0].get("trial_id"),
                        "values": {o["name"]: points[i][j] for j, o in enumerate(objectives)},
                        **entry})
    return {"sweep_id": runs[0].get("sweep_id") if runs else None,
            "objectives": [{"name": o["name"], "goal": o.get("goal", "minimize")}
                           for o in objectives],
            "pareto_front": entries}


__all__ = ["mean_of", "pareto", "seeded_best", "units"]
