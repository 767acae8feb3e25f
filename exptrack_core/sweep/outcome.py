"""What a sweep ends with: its trials ranked by the sweep metric, its best, and (for an
in-process objective) the value a trial returned, logged as its metric."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from exptrack_core.sweep.states import TrialRecord


def metric_value(run: dict[str, Any], metric: str | None) -> float | None:
    s = (run.get("summary") or {}).get(metric or "")
    return None if s is None else s.get("last")


def better(a: float | None, b: float | None, goal: str) -> bool:
    """Is ``a`` better than ``b``? Non-finite values are never better."""
    if a is None or not math.isfinite(a):
        return False
    if b is None or not math.isfinite(b):
        return True
    return a > b if goal == "maximize" else a < b


def rank_trials(trials: Iterable[TrialRecord], goal: str) -> list[TrialRecord]:
    """Completed and pruned trials with a finite value, best first; the first of equals first."""
    ranked = [t for t in trials if t.status in ("completed", "pruned") and better(t.value, None, goal)]
    ranked.sort(key=lambda t: -t.value if goal == "maximize" else t.value)
    return ranked


@dataclass
class SweepOutcome:
    sweep_id: str
    status: str
    trials: list[TrialRecord]
    best: TrialRecord | None
    metric: str | None
    goal: str
    message: str = ""
    store: Any = None  # the SweepStore: the time-budget feed records its own end status there
    stats: dict[str, int] = field(default_factory=dict)


def log_objective_result(tracker: Any, run_id: str, result: Any, metric: str | None) -> None:
    """An objective may return a number (the sweep metric) or a dict of final metrics."""
    from exptrack_core.names import check_metrics

    if isinstance(result, dict):
        values = check_metrics(result)
    elif metric is not None:
        values = check_metrics({metric: result})
    else:
        return
    tracker.log_metrics(run_id, values, None, time.time())
    tracker.close(run_id)


__all__ = ["SweepOutcome", "better", "log_objective_result", "metric_value", "rank_trials"]
