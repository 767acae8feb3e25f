"""The search space as Optuna distributions, and the mapping of values both ways.

Bounded distributions map to their natural Optuna shape (log ones to ``log=True``); unbounded
normal / log-normal ones are searched on their percentile in (0, 1), so the model explores where
the prior puts its mass. ``q_*`` ones are searched continuously and rounded on the way out.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Mapping

from exptrack_core.sweep.space import ParamSpace, ParamSpec, canonical_value

_NORMALS = ("normal", "q_normal", "log_normal", "q_log_normal")
_U_EPS = 1e-6


class OptunaSpace:
    """``dists`` for ``study.ask``; ``to_internal`` / ``from_internal`` convert a trial's params."""

    def __init__(self, space: ParamSpace):
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        self.space = space
        self.fixed: dict[str, Any] = dict(space.constants)
        self.dists: dict[str, Any] = {}
        self._specs: dict[str, ParamSpec] = {}
        for s in space.searchable:
            d = s.distribution
            if s.is_categorical:
                dist = CategoricalDistribution(tuple(range(len(s.values))))
            elif d == "int_uniform":
                dist = IntDistribution(int(s.min), int(s.max))
            elif d in ("uniform", "q_uniform"):
                dist = FloatDistribution(float(s.min), float(s.max))
            elif "log_uniform" in d:
                lo, hi = s.log_bounds()
                dist = FloatDistribution(math.exp(lo), math.exp(hi), log=True)
            elif d in _NORMALS and s.sigma == 0:
                self.fixed[s.name] = _from_normal(s, 0.5)
                continue
            else:  # normal family on the percentile, beta family on its support [0, 1]
                dist = FloatDistribution(0.0, 1.0)
            self.dists[s.name] = dist
            self._specs[s.name] = s

    def to_internal(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """A recorded trial's params as Optuna values; None when one is missing or not in the space."""
        out: dict[str, Any] = {}
        for name, dist in self.dists.items():
            if name not in params:
                return None
            value, spec = params[name], self._specs[name]
            try:
                if spec.is_categorical:
                    matches = [i for i, v in enumerate(spec.values)
                               if canonical_value(v) == canonical_value(value)]
                    if not matches:
                        return None
                    out[name] = matches[0]
                    continue
                x = float(value)
                if spec.distribution in _NORMALS:
                    x = math.log(x) if "log" in spec.distribution else x
                    x = NormalDist(spec.mu, spec.sigma).cdf(x)
            except (TypeError, ValueError):
                return None
            if not math.isfinite(x):
                return None
            x = min(max(x, dist.low), dist.high)
            out[name] = int(round(x)) if spec.distribution == "int_uniform" else x
        return out

    def from_internal(self, internal: Mapping[str, Any]) -> dict[str, Any]:
        """Optuna's suggestion as the sweep's flat params, constants included, in space order."""
        values = dict(self.fixed)
        for name, x in internal.items():
            spec = self._specs[name]
            if spec.is_categorical:
                values[name] = spec.values[x]
            elif spec.distribution == "int_uniform":
                values[name] = int(x)
            elif spec.distribution in _NORMALS:
                values[name] = _from_normal(spec, min(max(x, _U_EPS), 1 - _U_EPS))
            else:
                values[name] = spec.quantize(x) if spec.q is not None else float(x)
        return {n: values[n] for n in self.space.names}


def _from_normal(spec: ParamSpec, u: float) -> Any:
    x = NormalDist(spec.mu, spec.sigma).inv_cdf(u) if spec.sigma > 0 else spec.mu
    x = math.exp(x) if "log" in spec.distribution else x
    return spec.quantize(x) if spec.q is not None else float(x)


__all__ = ["OptunaSpace"]
