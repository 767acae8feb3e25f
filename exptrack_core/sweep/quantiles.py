"""The beta distribution's inverse CDF, for ``ParamSpec.ppf``: the one distribution of the space
whose quantile function has no closed form (the others are a line, ``exp`` or ``NormalDist``).

The regularized incomplete beta function comes from its continued fraction (Lentz's method, as in
Numerical Recipes ``betacf``); the quantile from bisection on it, which needs no derivative and
cannot diverge at the extremes where Newton steps overshoot for small ``a`` or ``b``.
"""

from __future__ import annotations

import math

_EPS, _TINY = 1e-15, 1e-300


def _continued_fraction(x: float, a: float, b: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                    -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """``P(X <= x)`` for ``X ~ Beta(a, b)``: the regularized incomplete beta ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):  # the fraction converges fast on this side
        return math.exp(log_front) * _continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(1.0 - x, b, a) / b


def beta_ppf(u: float, a: float, b: float) -> float:
    """The ``x`` in [0, 1] with ``beta_cdf(x, a, b) == u``, to about 1e-12."""
    lo, hi = 0.0, 1.0
    for _ in range(60):  # 2**-60: below a double's resolution on [0, 1]
        mid = (lo + hi) / 2
        if beta_cdf(mid, a, b) < u:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


__all__ = ["beta_cdf", "beta_ppf"]
