"""What the early stoppers share: checking an ``early_terminate`` block, and reading curves.

Every value a stopper compares is turned into "lower is better" first, with NaN and +/-inf as the
worst value there is (+inf), so a diverged trial never looks good whatever the goal.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Mapping

from exptrack_core.errors import ExptrackError

GOALS = ("minimize", "maximize")
WORST = math.inf


class StopperConfig:
    """An ``early_terminate`` block being read key by key, each key checked where it is read."""

    def __init__(self, config: Mapping[str, Any] | None, kind: str, accepted: Iterable[str]):
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise ExptrackError(
                f"early_terminate must be a mapping of options for {kind}, got {config!r}")
        accepted = sorted(set(accepted) | {"type"})
        for key in config:
            if key not in accepted:
                raise ExptrackError(
                    f"unknown option early_terminate.{key} for {kind}; accepted: "
                    f"{', '.join(accepted)}")
        if config.get("type", kind) != kind:
            raise ExptrackError(
                f"early_terminate.type is {config['type']!r} but this stopper is {kind!r}")
        self.config = dict(config)
        self.kind = kind

    def __contains__(self, key: str) -> bool:
        return self.config.get(key) is not None

    def positive_int(self, key: str, default: int | None = None, minimum: int = 1) -> int:
        value = self.config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ExptrackError(
                f"early_terminate.{key} must be an integer >= {minimum} for {self.kind}, "
                f"got {value!r}")
        return int(value)

    def number_above(self, key: str, default: float, bound: float) -> float:
        value = self.config.get(key, default)
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value) or value <= bound):
            raise ExptrackError(
                f"early_terminate.{key} must be a number > {bound:g} for {self.kind}, "
                f"got {value!r}")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.config.get(key, default)
        if not isinstance(value, bool):
            raise ExptrackError(
                f"early_terminate.{key} must be true or false for {self.kind}, got {value!r}")
        return value


def goal_sign(goal: str) -> int:
    """+1 for ``minimize``, -1 for ``maximize``: multiplying by it makes lower better."""
    if goal not in GOALS:
        raise ExptrackError(f"invalid metric goal {goal!r}; expected one of {', '.join(GOALS)}")
    return 1 if goal == "minimize" else -1


def oriented(value: Any, sign: int) -> float:
    """``value`` on a lower-is-better scale; NaN, +/-inf and non-numbers are the worst (+inf)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return WORST
    return sign * v if math.isfinite(v) else WORST


def oriented_curve(points: Iterable[tuple[int, Any]], sign: int) -> list[tuple[int, float]]:
    """A trial's ``(step, value)`` points in step order, values oriented (see ``oriented``)."""
    return sorted(((int(step), oriented(value, sign)) for step, value in points),
                  key=lambda p: p[0])


class Changes:
    """Which curves a stopper that keeps derived state must look at again.

    Given the core's ``Curves`` (``exptrack_core.sweep.curves``: append-only, with
    ``changed_since``), a verdict revisits only the curves that grew since the previous verdict on
    the same object; given anything else (a plain dict, or a new ``Curves``) it revisits all of
    them, after the stopper dropped what it derived."""

    def __init__(self) -> None:
        self._source: Any = None
        self._cursor = 0

    def since_last(self, curves: Mapping[str, Any]) -> tuple[bool, list[str]]:
        """``(fresh, trial_ids)``: when ``fresh``, rebuild from the ``trial_ids`` (all of them)."""
        changed_since = getattr(curves, "changed_since", None)
        if changed_since is not None and curves is self._source:
            ids, self._cursor = changed_since(self._cursor)
            return False, ids
        self._source = curves if changed_since is not None else None
        if changed_since is not None:
            _, self._cursor = changed_since(0)
        return True, list(curves)


__all__ = ["Changes", "GOALS", "StopperConfig", "WORST", "goal_sign", "oriented", "oriented_curve"]
