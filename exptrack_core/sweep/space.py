"""The search space: W&B-compatible parameter specs, their distributions, sampling and grids.

A sweep's ``parameters`` block is parsed into a ``ParamSpace`` of ``ParamSpec`` s, one per dotted
name (nested ``parameters:`` blocks and ``train.lr`` keys both become ``train.lr``). Sampling follows
the W&B sweeps controller (``wandb/sweeps`` ``params.py``): ``log_uniform`` takes natural-log
exponents, ``*_values`` take values, ``q_*`` round to a multiple of ``q`` (an integer ``q`` gives
integers), ``q`` defaults to ``1.0``, ``mu``/``sigma`` to 0/1 and ``a``/``b`` to 1/1.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, Iterator, Mapping

from exptrack_core.errors import ExptrackError


class SweepConfigError(ExptrackError):
    """A bad sweep config; ``path`` is the dotted path of the bad key (``parameters.lr.max``)."""

    def __init__(self, path: str, why: str):
        self.path, self.why = path, why
        super().__init__(f"{path}: {why}")


_Q = {"q": 1.0}
_NORMAL = {"mu": 0.0, "sigma": 1.0}
_BETA = {"a": 1.0, "b": 1.0}
_RANGE = ("min", "max")
# distribution -> (required keys, optional keys with their W&B defaults)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (_RANGE, {}),
    "uniform": (_RANGE, {}),
    "q_uniform": (_RANGE, _Q),
    "log_uniform": (_RANGE, {}),
    "log_uniform_values": (_RANGE, {}),
    "q_log_uniform": (_RANGE, _Q),
    "q_log_uniform_values": (_RANGE, _Q),
    "inv_log_uniform": (_RANGE, {}),
    "inv_log_uniform_values": (_RANGE, {}),
    "normal": ((), _NORMAL),
    "q_normal": ((), {**_NORMAL, **_Q}),
    "log_normal": ((), _NORMAL),
    "q_log_normal": ((), {**_NORMAL, **_Q}),
    "beta": ((), _BETA),
    "q_beta": ((), {**_BETA, **_Q}),
}
_NEST = ".wbnest[599c28ca25da]."  # the sweeps library's nesting delimiter, for W&B's key order
GRIDDABLE = ("constant", "categorical", "int_uniform", "q_uniform")
_POSITIVE_MIN = ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values")
_NUMERIC = ("min", "max", "q", "mu", "sigma", "a", "b")


class _OneDraw(random.Random):
    """A random source whose only number is ``u``: ``ParamSpec.sample`` turns its one
    ``random()`` into a value, so sampling and the inverse CDF share one formula."""

    def __init__(self, u: float):
        super().__init__(0)
        self._u: float | None = u

    def random(self) -> float:
        if self._u is None:
            raise AssertionError("ParamSpec.ppf: sample() asked for a second number")
        u, self._u = self._u, None
        return u


@dataclass(frozen=True)
class ParamSpec:
    """One searchable (or constant) parameter, with every W&B default filled in."""

    name: str
    distribution: str
    path: str = ""
    value: Any = None
    values: tuple = ()
    probabilities: tuple = ()
    min: float | None = None
    max: float | None = None
    q: float | None = None
    mu: float | None = None
    sigma: float | None = None
    a: float | None = None
    b: float | None = None
    # W&B's own name parts: ("optimizer", "lr") for a nested parameters: block, ("train.lr",) for
    # a dotted name, which W&B keeps flat and opaque (the agent renests only nested blocks)
    nest: tuple = ()

    @property
    def is_constant(self) -> bool:
        return self.distribution == "constant"

    @property
    def is_categorical(self) -> bool:
        return self.distribution in ("categorical", "categorical_w_probabilities")

    def quantize(self, x: float) -> Any:
        """Round to a multiple of ``q`` like W&B (``round(x / q) * q``; integers for an integer q)."""
        if self.q is None:
            return float(x)
        k = round(x / self.q)
        if isinstance(self.q, int):
            return int(k * self.q)
        return float(f"{k * self.q:.12g}") + 0.0  # 0.3, not 0.30000000000000004; never -0.0

    def sample(self, rng: random.Random) -> Any:
        """One draw from the distribution, as a plain Python value."""
        d, u = self.distribution, rng.random()
        if d == "constant":
            return self.value
        if d == "categorical":
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if d == "categorical_w_probabilities":
            cdf = itertools.accumulate(self.probabilities)
            return next((v for v, c in zip(self.values, cdf) if u < c), self.values[-1])
        if d == "int_uniform":  # floor, as scipy's randint.ppf: int() truncated -2.5 to -2
            return min(math.floor(self.min + u * (self.max - self.min + 1)), int(self.max))
        if d in ("beta", "q_beta"):
            x = rng.betavariate(self.a, self.b)
        elif d in ("normal", "q_normal", "log_normal", "q_log_normal"):
            x = NormalDist(self.mu, self.sigma).inv_cdf(min(max(u, 1e-12), 1 - 1e-12)) \
                if self.sigma > 0 else self.mu
            x = math.exp(x) if "log" in d else x
        else:
            lo, hi = self.log_bounds() if "log" in d else (self.min, self.max)
            x = lo + u * (hi - lo)
            x = math.exp(x) if "log" in d else x
        return self.quantize(x) if d.startswith("q_") else float(x)

    def ppf(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1) (the inverse CDF): what ``sample`` gives when its
        draw is ``u``. A quasi-random strategy maps its points through this, one per parameter."""
        if not (isinstance(u, (int, float)) and 0.0 <= u < 1.0):
            raise ValueError(f"ppf takes a quantile in [0, 1), got {u!r}")
        if self.distribution in ("beta", "q_beta"):  # sample() draws beta by rejection instead
            from exptrack_core.sweep.quantiles import beta_ppf
            x = beta_ppf(u, self.a, self.b)
            return self.quantize(x) if self.distribution == "q_beta" else float(x)
        return self.sample(_OneDraw(u))

    def log_bounds(self) -> tuple[float, float]:
        """For the log-uniform family, the natural-log interval that is drawn uniformly."""
        d = self.distribution
        if d in ("log_uniform", "q_log_uniform"):
            return self.min, self.max
        if d == "inv_log_uniform":  # W&B: exp(-U(min, max))
            return -self.max, -self.min
        return math.log(self.min), math.log(self.max)

    def grid_values(self) -> list:
        """Every value a grid visits, in order; only discrete distributions have one."""
        d = self.distribution
        if d == "constant":
            return [self.value]
        if d == "categorical":
            return _distinct(self.values)
        if d == "int_uniform":
            return list(range(int(self.min), int(self.max) + 1))
        if d == "q_uniform":
            count = math.floor((self.max - self.min) / self.q + 1e-9) + 1
            ints = all(isinstance(v, int) for v in (self.min, self.q))
            return [self.min + i * self.q if ints else float(f"{self.min + i * self.q:.12g}")
                    for i in range(count)]
        kind = "weighted values" if d == "categorical_w_probabilities" else f"{d}, a continuous range"
        raise SweepConfigError(self.path or self.name, (
            f"grid search cannot enumerate a {kind}; use values: [...], int_uniform, or q_uniform "
            "with a step q (or method: random / bayes)"))

    def grid_size(self) -> int:
        if self.distribution == "int_uniform":
            return int(self.max) - int(self.min) + 1
        if self.distribution == "q_uniform":
            return math.floor((self.max - self.min) / self.q + 1e-9) + 1
        return len(self.grid_values())


def _distinct(values: Any) -> list:
    """Grid values once each, as W&B's grid (1 and 1.0 hash alike; the last spelling is run)."""
    last = {canonical_value(v): v for v in values}
    return list(dict.fromkeys(last[canonical_value(v)] for v in values))


def _number(raw: Any, path: str) -> int | float:
    if isinstance(raw, str):  # YAML reads 1e-4 (no dot) as a string
        try:
            raw = int(raw) if raw.strip().lstrip("+-").isdigit() else float(raw)
        except ValueError:
            pass
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise SweepConfigError(path, f"{raw!r} is not a finite number")
    return raw


def _infer(body: Mapping[str, Any], path: str) -> str:
    if "distribution" in body:
        d = body["distribution"]
        if d == "categorical" and "probabilities" in body:  # W&B's schema refuses it too
            raise SweepConfigError(path + ".probabilities", (
                "distribution: categorical takes no probabilities; write distribution: "
                "categorical_w_probabilities, or leave distribution out"))
        if d not in DISTRIBUTIONS:
            raise SweepConfigError(path + ".distribution", (
                f"unknown distribution {d!r}; available: {', '.join(DISTRIBUTIONS)}"))
        return d
    if "value" in body:
        return "constant"
    if "values" in body:
        return "categorical_w_probabilities" if "probabilities" in body else "categorical"
    if "min" in body and "max" in body:
        lo, hi = (_number(body[k], f"{path}.{k}") for k in _RANGE)
        return "int_uniform" if isinstance(lo, int) and isinstance(hi, int) else "uniform"
    raise SweepConfigError(path, (
        f"cannot tell the distribution from keys {sorted(map(str, body))}; give value, values, "
        "min and max, distribution, or a nested parameters: block"))


def parse_spec(name: str, body: Any, path: str) -> ParamSpec:
    """One W&B parameter body (``{min: 0, max: 1}``, ``{values: [...]}``...) as a checked spec."""
    if not isinstance(body, Mapping):
        raise SweepConfigError(path, (
            f"expected a mapping such as {{values: [...]}} or {{min: 0, max: 1}}, got {body!r}"))
    dist = _infer(body, path)
    required, optional = DISTRIBUTIONS[dist]
    accepted = {"distribution", *required, *optional}
    for key in body:
        if key not in accepted:
            raise SweepConfigError(f"{path}.{key}", (
                f"unknown key {key!r} for a {dist} parameter; accepted: {', '.join(sorted(accepted))}"))
    for key in required:
        if key not in body:
            raise SweepConfigError(path, f"a {dist} parameter needs {key!r}")
    fields: dict[str, Any] = {k: _number(body[k], f"{path}.{k}") if k in _NUMERIC else body[k]
                              for k in body if k != "distribution"}
    for key, default in optional.items():
        fields.setdefault(key, default)
    _check(dist, fields, path)
    if "values" in fields:
        fields["values"] = tuple(fields["values"])
    if "probabilities" in fields:
        total = sum(fields["probabilities"])
        fields["probabilities"] = tuple(p / total for p in fields["probabilities"])
    return ParamSpec(name=name, distribution=dist, path=path, **fields)


def _check(dist: str, f: dict[str, Any], path: str) -> None:
    if "values" in f and (not isinstance(f["values"], list) or not f["values"]):
        raise SweepConfigError(f"{path}.values", f"must be a non-empty list, got {f['values']!r}")
    if "probabilities" in f:
        probs = f["probabilities"]
        if not isinstance(probs, list) or len(probs) != len(f["values"]):
            raise SweepConfigError(f"{path}.probabilities", (
                f"must be a list of {len(f['values'])} numbers, one per value; got {probs!r}"))
        probs = [_number(p, f"{path}.probabilities[{i}]") for i, p in enumerate(probs)]
        if any(p < 0 for p in probs) or not math.isclose(sum(probs), 1.0, abs_tol=1e-4):
            raise SweepConfigError(f"{path}.probabilities", (
                f"must be non-negative and sum to 1; {probs} sums to {sum(probs):g}"))
        f["probabilities"] = probs
    if dist == "int_uniform":
        for k in _RANGE:
            if float(f[k]) != int(f[k]):
                raise SweepConfigError(f"{path}.{k}", f"int_uniform needs an integer, got {f[k]!r}")
            f[k] = int(f[k])
    if "min" in f and f["min"] >= f["max"]:  # W&B's schema: "min 3 is not less than max 3"
        raise SweepConfigError(f"{path}.max", (
            f"min {f['min']!r} is not less than max {f['max']!r}; for one value write value: "
            f"{f['min']!r}"))
    if dist in _POSITIVE_MIN and f["min"] <= 0:
        raise SweepConfigError(f"{path}.min", (
            f"{dist} takes values, so min must be > 0 (got {f['min']!r}); for natural-log "
            f"exponents use {dist.replace('_values', '')}"))
    for key, low, strict in (("q", 0, True), ("sigma", 0, False), ("a", 0, True), ("b", 0, True)):
        if key in f and (f[key] <= low if strict else f[key] < low):
            raise SweepConfigError(f"{path}.{key}", (
                f"must be {'>' if strict else '>='} {low}, got {f[key]!r}"))


def canonical_value(value: Any) -> str:
    """A comparable text form of a value: 1 and 1.0 are the same point, True is not 1."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return json.dumps(value, sort_keys=True, default=str)


class ParamSpace:
    """The parameters of a sweep, in declaration order, by dotted name."""

    def __init__(self, specs: list[ParamSpec]):
        self.specs = tuple(specs)
        self._by_name = {s.name: s for s in self.specs}

    @classmethod
    def parse(cls, parameters: Any, path: str = "parameters") -> "ParamSpace":
        if not isinstance(parameters, Mapping) or not parameters:
            raise SweepConfigError(path, (
                f"needs at least one parameter, e.g. lr: {{min: 0.0001, max: 0.1}}; got {parameters!r}"))
        specs: list[ParamSpec] = []
        for key, body in parameters.items():
            if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
                raise SweepConfigError(f"{path}.{key}", "a parameter name must be a non-empty "
                                       "string of dot-separated parts, like lr or train.lr")
            here = f"{path}.{key}"
            if isinstance(body, Mapping) and "parameters" in body:
                extra = sorted(set(body) - {"parameters"})
                if extra:
                    raise SweepConfigError(f"{here}.{extra[0]}", (
                        "a nested block takes only parameters:, not other keys"))
                inner = cls.parse(body["parameters"], f"{here}.parameters")
                specs += [replace(s, name=f"{key}.{s.name}", nest=(key, *s.nest))
                          for s in inner.specs]
            else:
                specs.append(replace(parse_spec(key, body, here), nest=(key,)))
        # W&B names are flat and opaque: `dataset` and `dataset.train_batch` live side by side
        # (Hydra selects a group and overrides a key in it); only params.yaml makes them a tree.
        seen: dict[str, ParamSpec] = {}
        for spec in specs:
            if spec.name in seen:
                raise SweepConfigError(spec.path, (
                    f"parameter {spec.name!r} is defined twice (also at {seen[spec.name].path})"))
            seen[spec.name] = spec
        return cls(specs)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, name: str) -> ParamSpec:
        return self._by_name[name]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def searchable(self) -> list[ParamSpec]:
        return [s for s in self.specs if not s.is_constant]

    @property
    def constants(self) -> dict[str, Any]:
        return {s.name: s.value for s in self.specs if s.is_constant}

    def agent_args(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A point as ``wandb agent`` hands it over: nested blocks renested into one value,
        dotted names kept flat, sorted by name. Names not in the space (``-S``) stay flat."""
        def parts(name: str) -> tuple:
            return self._by_name[name].nest if name in self._by_name else (name,)

        out: dict[str, Any] = {}
        # the sweeps library renests in the sorted order of its delimiter-joined names
        for name, value in sorted(params.items(), key=lambda kv: _NEST.join(parts(kv[0]))):
            node = out
            *inner, last = parts(name)
            for part in inner:
                node = node.setdefault(part, {})
            node[last] = value
        return dict(sorted(out.items()))

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """One point, flat and dotted: ``{"train.lr": 0.003, "train.batch_size": 64}``."""
        return {s.name: s.sample(rng) for s in self.specs}

    def ppf(self, quantiles: Mapping[str, float]) -> dict[str, Any]:
        """One point from a quantile in [0, 1) per searchable parameter (constants as they are)."""
        return {s.name: s.value if s.is_constant else s.ppf(quantiles[s.name]) for s in self.specs}

    def check_grid(self) -> None:
        """Raise ``SweepConfigError`` naming the first parameter a grid cannot enumerate."""
        for s in self.specs:
            if s.distribution not in GRIDDABLE:
                s.grid_values()

    def grid_size(self) -> int:
        self.check_grid()
        return math.prod(s.grid_size() for s in self.specs)

    def iter_grid(self) -> Iterator[dict[str, Any]]:
        """Every combination once; the first parameter varies slowest."""
        self.check_grid()
        for combo in itertools.product(*(s.grid_values() for s in self.specs)):
            yield dict(zip(self.names, combo))

    def point_key(self, params: Mapping[str, Any]) -> tuple | None:
        """A hashable identity of a point (None when it misses a parameter); 1 and 1.0 are equal."""
        if any(n not in params for n in self.names):
            return None
        return tuple(canonical_value(params[n]) for n in self.names)


__all__ = ["DISTRIBUTIONS", "GRIDDABLE", "ParamSpace", "ParamSpec", "SweepConfigError",
           "canonical_value", "parse_spec"]
