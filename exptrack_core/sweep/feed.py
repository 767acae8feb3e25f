"""What a sweep's strategy is told and asked: seeds, every objective, and the time budget.

``TrialFeed`` wraps the strategy the sweep was configured with, so strategies stay unaware of
seeds and budgets, and the controller of both:

- ``seeds: N``: the strategy sees one result per configuration (the mean over its seeds, told
  once every seed ended) and is asked only for new configurations; the feed itself hands out the
  remaining seeds of a configuration (``seed_key`` = 0..N-1) before asking for the next one.
- a multi-objective sweep: each ended trial's view carries ``values`` (every objective's last
  value, read once from the tracker), for strategies such as bayes's NSGA-II.
- ``time_budget``: past the deadline nothing more is suggested, so no new trial starts; those
  running finish, and the sweep ends ``budget_reached``.
"""

from __future__ import annotations

import math
import time
from typing import Any, Sequence

from exptrack_core.plugin.interfaces import TrialView
from exptrack_core.sweep.asking import suggest
from exptrack_core.sweep.groups import Group, group_trials
from exptrack_core.sweep.states import RERUN

BUDGET_REACHED = "budget_reached"


class TrialFeed:
    def __init__(self, inner: Any, config: Any, *, deadline: float | None = None,
                 budget: float | None = None):
        self.inner = inner
        self.seeds, self.seed_key = config.seeds, config.seed_key
        self.objectives = [m.name for m in config.objectives]
        self.run_cap = config.run_cap
        self.deadline = deadline
        self.budget = budget or config.time_budget
        self.ended_by: str | None = None  # "budget" or "run_cap": why it stopped suggesting
        self.runner: Any = None           # the SweepRunner (its trials and tracker), once built
        self._values: dict[str, dict[str, float | None]] = {}

    def closed(self) -> bool:
        """Past the deadline: no new attempt may start, not even the re-run of a killed trial."""
        if self.deadline is not None and time.time() >= self.deadline:
            self.ended_by = "budget"
            return True
        return False

    def suggest(self, history: Sequence[TrialView], trial_id: str | None = None
                ) -> dict[str, Any] | None:
        if self.closed():
            return None
        views = [self._with_values(t) for t in history] if self.objectives else list(history)
        if not self.seeds:
            return suggest(self.inner, views, trial_id or f"t{len(views) + 1:04d}")
        groups = group_trials(views, self.seed_key)
        for g in groups:  # a configuration short of seeds (e.g. the controller stopped between)
            taken = g.taken(self.seed_key)
            if taken and len(taken) < self.seeds:
                return {**g.params, self.seed_key: next(s for s in range(self.seeds) if s not in taken)}
        ran = sum(1 for t in views if t.status not in RERUN)
        if self.run_cap is not None and ran + self.seeds > self.run_cap:
            self.ended_by = "run_cap"  # a configuration must get all its seeds or none
            return None
        collapsed = [TrialView(g.trial_id, g.params, g.status(self.seeds, self.seed_key),
                               g.value(), self._group_values(g)) for g in groups]
        point = suggest(self.inner, collapsed, trial_id or f"t{len(views) + 1:04d}")
        return None if point is None else {**point, self.seed_key: 0}

    # -- every objective ------------------------------------------------------------------------
    def _with_values(self, t: TrialView) -> TrialView:
        if t.status == "running" or self.runner is None:
            return t
        if t.trial_id not in self._values:
            record = self.runner.trials.get(t.trial_id)
            self._values[t.trial_id] = objective_values(self.runner.tracker, record.run_id,
                                                        self.objectives) if record else {}
        return TrialView(t.trial_id, t.params, t.status, t.value, self._values[t.trial_id])

    def _group_values(self, g: Group) -> dict[str, float | None] | None:
        if not self.objectives:
            return None
        out = {}
        for name in self.objectives:
            found = g.finite((t.values or {}).get(name) for t in g.trials
                             if t.status in ("completed", "pruned"))
            out[name] = sum(found) / len(found) if found else None
        return out

    # -- the sweep's end ------------------------------------------------------------------------
    def finish(self, outcome: Any) -> Any:
        """Say why the sweep stopped when it was the feed that stopped it."""
        if outcome.status != "completed":
            return outcome
        if self.ended_by == "budget":
            outcome.status = BUDGET_REACHED
            spent = f" of {format_duration(self.budget)}" if self.budget else ""
            outcome.message = f"time budget{spent} reached; no new trial started after it"
            if outcome.store is not None:
                outcome.store.set_status(BUDGET_REACHED)
        elif self.ended_by == "run_cap":
            outcome.message = f"run_cap reached ({self.seeds} seeds per configuration)"
        return outcome


def objective_values(tracker: Any, run_id: str, names: list[str]) -> dict[str, float | None]:
    """Each objective's last value in a run's record (None where it has none or it is not finite)."""
    try:
        summary = tracker.read_run(tracker.run_dir(run_id)).get("summary") or {}
    except Exception:  # an unreadable record says nothing about the objectives
        return {n: None for n in names}
    out = {}
    for n in names:
        v = (summary.get(n) or {}).get("last")
        out[n] = float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None
    return out


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


__all__ = ["BUDGET_REACHED", "TrialFeed", "format_duration", "objective_values"]
