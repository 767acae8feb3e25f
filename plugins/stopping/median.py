"""Median early stopping, in the spirit of Optuna's ``MedianPruner``.

A trial at its latest step ``s`` (once ``s >= min_steps``) is stopped when its best value so far
is strictly worse than the median of the other trials' best values up to step ``s``. Only trials
that have reached step ``s`` count, and at least ``min_trials`` of them are needed before anything
is stopped. Unlike Optuna, whose median is over completed trials' values *at* step ``s``, the
others here are any trials of the sweep (running ones too, as asynchronous stopping needs) and
their best up to ``s``: a noisy dip does not hide a trial's real progress.

NaN/inf values are the worst value; a trial whose values so far are all NaN/inf is stopped as
soon as the gates above are passed (Optuna prunes a NaN trial too).
"""

from __future__ import annotations

import statistics
from typing import Any, Mapping

from exptrack_plugins.stopping.inputs import WORST, StopperConfig, goal_sign, oriented_curve

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

    def peers_best(self, trial_id: str, step: int,
                   curves: Mapping[str, list[tuple[int, float]]]) -> list[float]:
        """Each other trial's best value up to ``step``, for those that reached ``step``."""
        best: list[float] = []
        for tid, points in curves.items():
            if tid == trial_id or not points:
                continue
            curve = oriented_curve(points, self.sign)
            if curve[-1][0] < step:
                continue
            upto = [v for s, v in curve if s <= step]
            if upto:
                best.append(min(upto))
        return best

    def should_stop(self, trial_id: str, curves: Mapping[str, list[tuple[int, float]]]) -> bool:
        curve = oriented_curve(curves.get(trial_id) or [], self.sign)
        if not curve:
            return False
        step = curve[-1][0]
        if step < self.min_steps:
            return False
        peers = self.peers_best(trial_id, step, curves)
        if len(peers) < self.min_trials:
            return False
        best = min(v for _, v in curve)
        return best == WORST or best > statistics.median(peers)


__all__ = ["DEFAULT_MIN_STEPS", "DEFAULT_MIN_TRIALS", "MedianStopper"]
