"""Seed groups: the trials of one configuration, run once per seed, seen as one result.

A configuration is a trial's params without the seed key. Its result is the mean over the seeds
that ended with a finite value; until every seed has ended it is still running. The strategy,
the sweep's best and ``exptrack best`` all rank configurations by that mean.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

TAKEN = ("running", "completed", "pruned", "failed", "timed_out")  # a seed that ran (killed: re-run)


def config_key(params: dict[str, Any], seed_key: str) -> str:
    return json.dumps({k: v for k, v in params.items() if k != seed_key}, sort_keys=True, default=str)


@dataclass
class Group:
    """One configuration: its trials (any object with trial_id, params, status, value)."""

    key: str
    params: dict[str, Any]                 # the configuration, without the seed key
    trials: list[Any] = field(default_factory=list)

    @property
    def trial_id(self) -> str:
        return self.trials[0].trial_id     # stable: the strategy matches its suggestion by it

    def taken(self, seed_key: str) -> list[Any]:
        return sorted({t.params.get(seed_key) for t in self.trials if t.status in TAKEN},
                      key=str)

    def status(self, seeds: int, seed_key: str) -> str:
        ran = [t for t in self.trials if t.status in TAKEN]
        if not ran:
            return "killed"
        if len(self.taken(seed_key)) < seeds or any(t.status == "running" for t in ran):
            return "running"
        if self.value() is None:
            return "failed"
        return "completed" if any(t.status == "completed" for t in ran) else "pruned"

    def finite(self, values: Iterable[Any] | None = None) -> list[float]:
        got = [t.value for t in self.trials if t.status in ("completed", "pruned")] \
            if values is None else list(values)
        return [float(v) for v in got if isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v)]

    def value(self) -> float | None:
        found = self.finite()
        return sum(found) / len(found) if found else None


def group_trials(trials: Iterable[Any], seed_key: str) -> list[Group]:
    """Trials grouped by configuration, in the order each configuration first ran."""
    groups: dict[str, Group] = {}
    for t in trials:
        key = config_key(t.params, seed_key)
        if key not in groups:
            groups[key] = Group(key, {k: v for k, v in t.params.items() if k != seed_key})
        groups[key].trials.append(t)
    return list(groups.values())


def rank_groups(trials: Iterable[Any], goal: str, seed_key: str) -> list[Group]:
    """Configurations with a finite mean, best first (the first of equals first)."""
    ranked = [g for g in group_trials(trials, seed_key) if g.value() is not None]
    ranked.sort(key=lambda g: -g.value() if goal == "maximize" else g.value())
    return ranked


def best_of_groups(trials: Iterable[Any], goal: str, seed_key: str) -> Any:
    """The best configuration of a seeded sweep, as its first finished trial holding the mean."""
    from dataclasses import replace

    ranked = rank_groups(trials, goal, seed_key)
    if not ranked:
        return None
    first = next(t for t in ranked[0].trials if t.status in ("completed", "pruned"))
    return replace(first, value=ranked[0].value(), params=dict(ranked[0].params),
                   extra={**first.extra, "seeds": len(ranked[0].finite())})


__all__ = ["Group", "best_of_groups", "TAKEN", "config_key", "group_trials", "rank_groups"]
