"""Seed statistics: mean ± std, a 95% confidence interval, and the t-tests between groups.

Computed here (the t distribution from scipy) so that the table can say exactly what ran; the
tests check every number against scipy's own ``t.interval``, ``ttest_ind(equal_var=False)`` and
``ttest_rel`` on the same values. ``std`` is the sample standard deviation (n - 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    std: float | None       # None with fewer than 2 values
    ci_low: float | None
    ci_high: float | None


def _t():
    try:
        from scipy import stats
    except ImportError:  # an optional dependency (exptrack[sweep]): say so in one line
        from exptrack_core.errors import ExptrackError

        raise ExptrackError("confidence intervals and t-tests need scipy: pip install scipy") from None
    return stats.t


def _var(xs: Sequence[float]) -> float:
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def describe(values: Sequence[float]) -> Summary:
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = sum(xs) / n
    if n < 2:
        return Summary(n, mean, None, None, None)
    std = math.sqrt(_var(xs))
    half = float(_t().ppf(0.5 + CONFIDENCE / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


def _p(t: float, df: float) -> float:
    if math.isinf(t):  # no spread and different means: as scipy says, p = 0
        return 0.0
    return float("nan") if math.isnan(t) or math.isnan(df) else float(2 * _t().sf(abs(t), df))


def _ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return float("nan") if num == 0 else math.copysign(float("inf"), num)


def welch(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test (unequal variances); NaN with fewer than 2 each."""
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    va, vb = _var(a) / len(a), _var(b) / len(b)
    t = _ratio(sum(a) / len(a) - sum(b) / len(b), math.sqrt(va + vb))
    denom = va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)
    df = (va + vb) ** 2 / denom if denom > 0 else float("nan")
    return _p(t, df)


def paired(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test on ``a[i] - b[i]``; NaN with fewer than 2 pairs."""
    d = [x - y for x, y in zip(a, b)]
    if len(d) < 2:
        return float("nan")
    t = _ratio(sum(d) / len(d), math.sqrt(_var(d) / len(d)))
    return _p(t, len(d) - 1)


__all__ = ["CONFIDENCE", "Summary", "describe", "paired", "welch"]
