"""Random search: independent draws from each parameter's distribution, reproducible by seed."""

from __future__ import annotations

import random
import secrets
from typing import Any, Mapping

from exptrack_core.sweep.space import ParamSpace


class RandomSearch:
    """The k-th suggestion depends only on the seed and k = len(history), so a resumed sweep
    draws what the crashed one would have drawn next."""

    def __init__(self, space: ParamSpace, config: Mapping[str, Any] | None = None,
                 seed: int | None = None):
        self.space = space
        self.seed = secrets.randbits(32) if seed is None else seed

    def suggest(self, history: list[dict[str, Any]]) -> dict[str, Any] | None:
        # str seeds are hashed with SHA-512 by random.Random: stable across runs and platforms
        return self.space.sample(random.Random(f"exptrack-random:{self.seed}:{len(history)}"))


__all__ = ["RandomSearch"]
