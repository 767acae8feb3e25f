"""Median early stopping, in the spirit of Optuna's ``MedianPruner``.

A trial at its latest step ``s`` (once ``s >= min_steps``) is stopped when its best value so far
is strictly worse than the median of the other trials' best values up to step ``s``. Only trials
that have reached step ``s`` count, and at least ``min_trials`` of them are needed before anything
is stopped. Unlike Optuna, whose median is over completed trials' values *at* step ``s``, the
others here are any trials of the sweep (running ones too, as asynchronous stopping needs) and
their best up to ``s``: a noisy dip does not hide a trial's real progress.

NaN/inf values are the worst value; a trial whose values so far are all NaN/inf is stopped as
soon as the gates above are passed (Optuna prunes a NaN trial too).

Between verdicts on the core's ``Curves`` each trial's steps and running best are kept, and only
the curves that grew are derived again (``Changes``); a verdict is then one bisect per running
peer, and one lookup for the ended peers a snapshot holds (``peers.EndedPeers``).
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Any, Mapping

from exptrack_plugins.stopping.inputs import WORST, Changes, StopperConfig, goal_sign, oriented_curve
from exptrack_plugins.stopping.peers import EndedPeers, median_of

DEFAULT_MIN_STEPS = 0  # Optuna's n_warmup_steps
DEFAULT_MIN_TRIALS = 5  # Optuna's n_startup_trials


class MedianStopper:
    """Stops a trial whose best so far is worse than the median of its peers at the same step."""

    def __init__(self, config: Mapping[str, Any] | None, goal: str = "minimize"):
        cfg = StopperConfig(config, "median", ("min_steps", "min_trials"))
        self.sign = goal_sign(goal)
        self.goal = goal
        self.min_steps = cfg.positive_int("min_steps", DEFAULT_MIN_STEPS, minimum=0)
        self.min_trials = cfg.positive_int("min_trials", DEFAULT_MIN_TRIALS)
        self._changes = Changes()
        self._derived: dict[str, tuple[list[int], list[float]]] = {}
        self._ended = EndedPeers()   # the peers a snapshot holds (restore_snapshot): not in curves
        self._folded: dict[str, int] = {}  # (snapshot_state) the curves folded into _ended: length

    def _update(self, curves: Mapping[str, list[tuple[int, float]]]) -> None:
        # kept between verdicts: each trial's steps in order and its best value up to each, so a
        # verdict re-derives only the curves that grew (``Changes``), never every peer's curve
        fresh, changed = self._changes.since_last(curves)
        if fresh:
            self._derived = {}
        for tid in changed:
            curve = oriented_curve(curves[tid], self.sign)
            if curve:
                self._derived[tid] = ([s for s, _ in curve],
                                      list(accumulate((v for _, v in curve), min)))
            else:
                self._derived.pop(tid, None)

    def peers_best(self, trial_id: str, step: int) -> list[float]:
        """Each other trial's best value up to ``step``, for those that reached ``step``."""
        best: list[float] = []
        for tid, (steps, bests) in self._derived.items():
            if tid != trial_id and steps[-1] >= step:
                best.append(bests[bisect_right(steps, step) - 1])
        return best

    def should_stop(self, trial_id: str, curves: Mapping[str, list[tuple[int, float]]]) -> bool:
        self._update(curves)
        if trial_id not in self._derived:
            return False
        steps, bests = self._derived[trial_id]
        step = steps[-1]
        if step < self.min_steps:
            return False
        peers, ended = self.peers_best(trial_id, step), self._ended.values_at(step)
        if len(peers) + len(ended) < self.min_trials:
            return False
        best = bests[-1]
        return best == WORST or best > median_of(ended, sorted(peers))

    # -- the optional snapshot interface (``exptrack.plugin.EarlyStopper``) ----------------------
    def snapshot_state(self, curves: Mapping[str, list[tuple[int, float]]]) -> bytes | None:
        """The ended peers in ``curves`` (curves that no longer change), as sorted values per
        class of steps; None when that would be too big to load fast."""
        self._update(curves)
        if any(t not in self._derived or len(self._derived[t][0]) != n
               for t, n in self._folded.items()):  # a curve changed: fold them all again
            self._ended, self._folded = EndedPeers(), {}
        for tid, (steps, bests) in self._derived.items():
            if tid not in self._folded:
                self._ended.fold(steps, bests)
                self._folded[tid] = len(steps)
        return self._ended.pack()

    def restore_snapshot(self, data: bytes) -> bool:
        """Start from ``snapshot_state``'s peers: later verdicts, given curves without them,
        decide as if they were there. False (nothing changed) if ``data`` is not such a state."""
        ended = EndedPeers.unpack(data)
        if ended is None:
            return False
        self._ended = ended
        return True


__all__ = ["DEFAULT_MIN_STEPS", "DEFAULT_MIN_TRIALS", "MedianStopper"]
