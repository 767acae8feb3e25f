"""Grid search: every combination of the discrete parameters once, in a stable order."""

from __future__ import annotations

from typing import Any, Mapping

from exptrack_core.sweep.space import ParamSpace

# A point with one of these statuses has been (or is being) tried; a killed one may run again.
TAKEN = ("running", "completed", "pruned", "failed", "timed_out")


class GridSearch:
    """Walks ``space.iter_grid()`` (first parameter slowest), skipping points the history holds."""

    def __init__(self, space: ParamSpace, config: Mapping[str, Any] | None = None,
                 seed: int | None = None):
        space.check_grid()  # a continuous parameter fails here, before any trial runs
        self.space = space

    def suggest(self, history: list[dict[str, Any]]) -> dict[str, Any] | None:
        taken = {self.space.point_key(t.get("params") or {})
                 for t in history if t.get("status") in TAKEN}
        for point in self.space.iter_grid():
            if self.space.point_key(point) not in taken:
                return point
        return None


__all__ = ["GridSearch", "TAKEN"]
