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
from typing import Any, Mapping, Sequence

from exptrack.plugin import ParamSpace, TrialView, check_options

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


def _options(config: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"scramble": True,
            **check_options("halton", (config or {}).get("halton") or {}, OPTIONS, kind="method")}


class HaltonSearch:
    """``factory(space, config, seed)``: the k-th suggestion is the k-th Halton point, k = the
    number of trials in the history, so a resumed sweep continues the sequence."""

    def __init__(self, space: ParamSpace, config: Mapping[str, Any] | None = None,
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

    def suggest(self, history: Sequence[TrialView]) -> dict[str, Any]:
        # each coordinate through its parameter's inverse CDF: a point spread evenly over the
        # unit cube stays spread evenly over the space, whatever the distributions
        return self.space.ppf(dict(zip(self.searchable, self.point(len(history)))))


__all__ = ["HaltonSearch", "primes"]
