"""Scrambled Halton search: quasi-random points spread evenly over the space, reproducible by seed.

The k-th trial's coordinate for parameter j is the radical inverse of k in the j-th prime base,
each digit passed through a random permutation (one per parameter and digit position, drawn
from the seed). A permutation of digits keeps Halton's stratification -- the first b1^i * b2^j
points fall one in each box of a b1^i x b2^j grid -- while breaking the correlations between
high-dimensional bases that make the plain sequence fill the space in stripes.
"""

from __future__ import annotations

import math
import random
import secrets
from typing import Any, Mapping

from exptrack import ExptrackError

OPTIONS = {"scramble": bool}
_INDEX_BITS = 40  # digits enough for 2**40 trials


def primes(count: int) -> list[int]:
    """The first ``count`` primes."""
    found: list[int] = []
    n = 2
    while len(found) < count:
        if all(n % p for p in found if p * p <= n):
            found.append(n)
        n += 1
    return found


class _UnitDraw(random.Random):
    """A random source whose first number is the given coordinate, then a seeded stream.

    ``ParamSpec.sample(rng)`` turns one ``rng.random()`` into a value of its distribution
    (inverse CDF); only ``beta`` needs more numbers, which then come from the stream.
    """

    def __init__(self, u: float, seed: str):
        super().__init__(seed)
        self._u: float | None = u

    def random(self) -> float:
        if self._u is None:
            return super().random()
        u, self._u = self._u, None
        return u


def _options(config: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = (config or {}).get("halton") or {}
    if not isinstance(raw, Mapping):
        raise ExptrackError(f"options for method halton must be a mapping, got {raw!r}")
    for key, value in raw.items():
        if key not in OPTIONS:
            raise ExptrackError(f"unknown option halton.{key}; accepted: {', '.join(OPTIONS)}")
        if not isinstance(value, OPTIONS[key]):
            raise ExptrackError(f"halton.{key} must be true or false, got {value!r}")
    return {"scramble": True, **raw}


class HaltonSearch:
    """``factory(space, config, seed)``: the k-th suggestion is the k-th Halton point, k = the
    number of trials in the history, so a resumed sweep continues the sequence."""

    def __init__(self, space: Any, config: Mapping[str, Any] | None = None,
                 seed: int | None = None):
        self.space = space
        self.seed = secrets.randbits(32) if seed is None else seed
        self.scramble = _options(config)["scramble"]
        self.searchable = [s.name for s in space.specs if not s.is_constant]
        rng = random.Random(f"exptrack-halton:{self.seed}")
        self.bases = primes(len(self.searchable))
        self._digits: list[list[list[int]]] = []  # per parameter, per digit position
        for base in self.bases:
            positions = math.ceil(_INDEX_BITS / math.log2(base))
            perms = []
            for _ in range(positions):
                perm = list(range(base))
                if self.scramble:
                    rng.shuffle(perm)
                perms.append(perm)
            self._digits.append(perms)

    def point(self, index: int) -> list[float]:
        """The ``index``-th point of the (scrambled) sequence, one coordinate in [0, 1) per
        searchable parameter."""
        coords = []
        for base, perms in zip(self.bases, self._digits):
            u, scale, k = 0.0, 1.0 / base, index
            for perm in perms:
                k, digit = divmod(k, base)
                u += perm[digit] * scale
                scale /= base
            coords.append(u)
        return coords

    def suggest(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        index = len(history)
        coords = dict(zip(self.searchable, self.point(index)))
        params = {}
        for spec in self.space.specs:
            if spec.is_constant:
                params[spec.name] = spec.value
            else:
                stream = f"exptrack-halton:{self.seed}:{index}:{spec.name}"
                params[spec.name] = spec.sample(_UnitDraw(coords[spec.name], stream))
        return params


__all__ = ["HaltonSearch", "primes"]
