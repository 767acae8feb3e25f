"""What the controller knows of its trials, kept up to date as each one moves.

The strategy's history, the trials in flight, how many count towards ``run_cap``, the best one and
each point's attempts are updated once per move of a trial, never recomputed from every trial:
a turn of the sweep loop costs the same with 10 or 10,000 trials in the journal.
"""

from __future__ import annotations

import json
from typing import Any

from exptrack_core.plugin.interfaces import TrialView
from exptrack_core.sweep.asking import Views
from exptrack_core.sweep.outcome import better
from exptrack_core.sweep.states import RERUN, TrialRecord


class TrialLedger:
    def __init__(self, goal: str):
        self.goal = goal
        self.views = Views()                # the strategy's history, one view per trial
        self._view_at: dict[str, int] = {}
        self.in_flight: set[str] = set()
        self._killed: set[str] = set()
        self.best: TrialRecord | None = None
        self._attempts: dict[str, int] = {}  # point -> launches in this sweep (journal included)

    def track(self, t: TrialRecord) -> None:
        """Bring what is kept of ``t`` up to date after it was added or moved."""
        view = TrialView.of(t.as_history())
        key = point_key(t.params)
        if t.trial_id not in self._view_at:
            self._view_at[t.trial_id] = len(self.views)
            self.views.append(view)
            # journals written before attempts were recorded count launches
            self._attempts[key] = max(self._attempts.get(key, 0) + 1, t.attempt)
        else:  # a move, or a re-run continuing the trial (its next attempt)
            self.views[self._view_at[t.trial_id]] = view
            self._attempts[key] = max(self._attempts.get(key, 0), t.attempt)
        # a killed trial's re-run continues it under the same id: it counts again once re-run
        if t.status in RERUN:
            self._killed.add(t.trial_id)
        else:
            self._killed.discard(t.trial_id)
        if t.in_flight:
            self.in_flight.add(t.trial_id)
            return
        self.in_flight.discard(t.trial_id)
        best = self.best
        if t.status in ("completed", "pruned") and better(t.value, None, self.goal) and (
                best is None or better(t.value, best.value, self.goal) or (
                    t.value == best.value and self._view_at[t.trial_id] < self._view_at[best.trial_id])):
            self.best = t  # as rank_trials ranks: of equal values, the earliest trial

    def counted(self) -> int:
        """Trials that count towards run_cap: every one that ended or is running (not killed or
        crashed: those run again)."""
        return len(self.views) - len(self._killed)

    @property
    def killed(self) -> int:
        return len(self._killed)

    def next_attempt(self, params: dict[str, Any]) -> int:
        """1 + how many trials of this sweep ran the same point before (a re-run supersedes)."""
        return self._attempts.get(point_key(params), 0) + 1


def point_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


__all__ = ["TrialLedger", "point_key"]
