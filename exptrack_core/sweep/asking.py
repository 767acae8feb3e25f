"""Asking a search strategy for the next trial: the one place the core calls ``suggest``.

The history reaches the strategy as ``TrialView`` s, whatever form the caller keeps it in. A
strategy whose ``suggest`` accepts ``trial_id`` (as Ray Tune's ``Searcher.suggest(trial_id)``) is
told which trial the suggestion is for, so it can match results to its own suggestions by id;
one written for ``suggest(history)`` alone is called that way. The signature is read once per
strategy class.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Iterable, Mapping

from exptrack_core.plugin.interfaces import SearchStrategy, TrialView
from exptrack_core.sweep.states import RERUN


@functools.lru_cache(maxsize=None)
def _takes_trial_id(cls: type) -> bool:
    try:
        params = inspect.signature(cls.suggest).parameters.values()
    except (AttributeError, TypeError, ValueError):  # a builtin or an instance attribute
        return False
    return any(p.name == "trial_id" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


class Views(list):
    """A history already made of ``TrialView`` s (the controller keeps one as trials move):
    handed over as a copy, without converting each entry again."""


def suggest(strategy: SearchStrategy, history: Iterable[Mapping[str, Any] | TrialView],
            trial_id: str) -> dict[str, Any] | None:
    """The strategy's params for trial ``trial_id`` (``None``: the space is exhausted)."""
    if isinstance(history, Views):
        views = list(history)  # a copy: a strategy may keep the list it was given
    else:
        views = [t if isinstance(t, TrialView) else TrialView.of(t) for t in history]
    if _takes_trial_id(type(strategy)):
        return strategy.suggest(views, trial_id=trial_id)
    return strategy.suggest(views)


class FixedPoints:
    """A strategy over a given list of configs, each run once (``exptrack promote``)."""

    def __init__(self, points: list[dict[str, Any]]):
        self.points = points

    def suggest(self, history: list[dict[str, Any]]) -> dict[str, Any] | None:
        taken = [h["params"] for h in history if h["status"] not in RERUN]
        for point in self.points:
            if not any(all(p.get(k) == v for k, v in point.items()) for p in taken):
                return dict(point)
        return None


__all__ = ["FixedPoints", "Views", "suggest"]
