"""The Pareto front of a multi-objective sweep: the results no other result dominates.

One result dominates another when it is at least as good on every objective and better on one
(Optuna's definition, ``study.best_trials``): equal results are both on the front, and a result
with a missing or non-finite objective is on none.
"""

from __future__ import annotations

import math
from typing import Any, Sequence


def _usable(point: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in point)


def pareto_front(points: Sequence[Sequence[Any]], goals: Sequence[str]) -> list[int]:
    """Indices of the non-dominated points, in their order; ``goals``: minimize/maximize each."""
    signs = [-1.0 if g == "maximize" else 1.0 for g in goals]
    costs = [None if not _usable(p) else [s * float(v) for s, v in zip(signs, p)] for p in points]
    front = []
    for i, a in enumerate(costs):
        if a is None:
            continue
        if not any(b is not None and all(y <= x for x, y in zip(a, b)) and
                   any(y < x for x, y in zip(a, b)) for b in costs):
            front.append(i)
    return front


__all__ = ["pareto_front"]
