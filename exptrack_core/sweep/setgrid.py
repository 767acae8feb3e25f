"""``exptrack sweep -S key=choice(a,b)``: DVC's sweep values define a grid, and each of its points
runs the sweep's own search.

``dvc exp run --queue -S train.lr=0.1,0.01 -S seed=range(1,3)`` queues one experiment per point of
the product of the values (Hydra's BasicSweeper, last key fastest). ``exptrack sweep`` expands the
same way (``expand_sweeps``), and then runs the sweep file's search under each point in turn:
with ``method: grid`` that is the cross product (point 1 x the whole grid, then point 2 x ...);
with any other method each point gets its own search of ``run_cap`` trials, started from the
same seed (random search draws the same samples under each point: a paired comparison), and a
search with no ``run_cap`` is refused, since it would never leave the first point.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from exptrack_core.errors import ExptrackError
from exptrack_core.plugin.interfaces import TrialView
from exptrack_core.secrets import is_secret_name
from exptrack_core.sweep.asking import suggest
from exptrack_core.sweep.states import RERUN


def _same(a: Any, b: Any) -> bool:
    """Type-strict: -S seed=choice(1,1.0) is two runs for DVC, so 1 and 1.0 are two points here."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def fixed_grid(overrides: list[str], params_file: str | os.PathLike,
               seed: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``-S`` given to a sweep as ``(fixed, points)``: the flat params every trial gets, and the
    grid's points (each the flat params that differ between points); ``points`` is ``[]`` when no
    override is a sweep value."""
    from exptrack_core.overrides import expand_sweeps
    from exptrack_core.sweep.lifecycle import fixed_params

    runs = expand_sweeps(overrides, seed)
    if len(runs) == 1 and runs[0] == list(overrides):
        return fixed_params(overrides, params_file), []
    applied = [fixed_params(run, params_file) for run in runs]
    common = {k: v for k, v in applied[0].items()
              if all(k in a and _same(a[k], v) for a in applied[1:])}
    points: list[dict[str, Any]] = []
    for a in applied:
        point = {k: v for k, v in a.items() if k not in common}
        if not any(_same(point, p) for p in points):  # seed=1,1: one point, run once
            points.append(point)
    from exptrack_core.params import apply_overrides, read_yaml_mapping

    path = Path(params_file)
    base = read_yaml_mapping(path, "params file") if path.is_file() else {}
    for point in points:  # each trial applies its flat params onto params.yaml: fail here, not there
        apply_overrides(base, {**common, **point}, strict=False)
    for key in {k for p in points for k in p}:
        if is_secret_name(key.rsplit(".", 1)[-1]):
            raise ExptrackError(f"-S {key}: a secret-named key cannot take several values (a sweep "
                                "value); give it one value")
    return common, (points if len(points) > 1 else [])


def check_grid_method(config: Any, points: Sequence[Mapping[str, Any]]) -> None:
    if points and config.method != "grid" and config.run_cap is None:
        raise ExptrackError(
            f"-S defines a grid of {len(points)} points and method {config.method} runs each point "
            "until run_cap, which this sweep does not set: give --trials N (trials per -S point)")


def total_trials(config: Any, points: Sequence[Mapping[str, Any]]) -> int | None:
    """How many trials the sweep runs in all: run_cap (or the sweep's grid) under each point."""
    per_point = config.run_cap or (config.grid_size() if config.method == "grid" else None)
    return None if per_point is None else per_point * max(1, len(points))


def describe(points: Sequence[Mapping[str, Any]]) -> str:
    keys = list(dict.fromkeys(k for p in points for k in p))
    return ", ".join(keys)


class PointsTimesSearch:
    """The sweep's search run under each ``-S`` point (``points``; ``[{}]``: no -S grid), ``cap``
    trials per point (None: until the search is exhausted).

    The search sees each trial as it suggested it: keys -S sets (``overridden``) are taken out,
    and a sweep constant they override is shown at the constant's value, so a grid search counts
    its point as taken instead of suggesting it again and again."""

    def __init__(self, points: Sequence[Mapping[str, Any]], make: Callable[[], Any],
                 cap: int | None, constants: Mapping[str, Any], overridden: Sequence[str] = ()):
        self.points = [dict(p) for p in points] or [{}]
        self.searches = [make() for _ in self.points]
        self.cap = cap
        self.constants = dict(constants)
        self.hidden = set(overridden) | {k for p in self.points for k in p}

    def _view(self, t: TrialView) -> TrialView:
        params = {k: v for k, v in t.params.items() if k not in self.hidden}
        params.update({k: v for k, v in self.constants.items() if k in self.hidden})
        return TrialView(t.trial_id, params, t.status, t.value)

    def suggest(self, history: Sequence[TrialView], trial_id: str | None = None
                ) -> dict[str, Any] | None:
        views = [t if isinstance(t, TrialView) else TrialView.of(t) for t in history]
        for point, search in zip(self.points, self.searches):
            mine = [t for t in views if all(k in t.params and _same(t.params[k], v)
                                            for k, v in point.items())]
            if self.cap is not None and sum(t.status not in RERUN for t in mine) >= self.cap:
                continue
            params = suggest(search, [self._view(t) for t in mine], trial_id or f"t{len(views) + 1:04d}")
            if params is not None:
                return {**params, **point}
        return None


def search_for(config: Any, seed: int | None, fixed: Mapping[str, Any],
               points: Sequence[Mapping[str, Any]]) -> PointsTimesSearch:
    from exptrack_core.plugin.registry import get_registry

    registry = get_registry()
    data = config.to_dict()
    cap = config.run_cap if points else None  # without a -S grid the controller keeps run_cap
    if seed is None and len(points) > 1:  # one seed for every point, so they stay paired
        import secrets

        seed = secrets.randbits(32)
    return PointsTimesSearch(points, lambda: registry.strategy(config.method, config.space, data, seed),
                             cap, config.space.constants, list(fixed))


__all__ = ["PointsTimesSearch", "check_grid_method", "describe", "fixed_grid", "search_for",
           "total_trials"]
