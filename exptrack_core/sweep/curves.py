"""Every trial's curve of the sweep metric, read through the tracker's API from where it stopped.

One path for every kind of trial: an exptrack program logs through the tracker, the W&B follower
logs an unchanged W&B script's values into the tracker, and any executor's trials end up there;
early stopping reads them back only through ``Tracker.read_history`` (never a plugin's files),
keeping per run the offset it reached, so each read costs only what was appended since.

Only trials that may still log are read again: a trial that has ended is read once more (its
last rows) and then never again, so a verdict costs the same with 10 or 10,000 trials recorded.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Mapping


class Curves(Mapping[str, list[tuple[int, float]]]):
    """trial id -> ``[(step, value), ...]``, append-only (a stopper must not change it).

    A plain mapping to a stopper; one that keeps derived state between verdicts may ask
    ``changed_since(cursor)`` which curves grew since it last looked, instead of re-reading all."""

    def __init__(self) -> None:
        self._curves: dict[str, list[tuple[int, float]]] = {}
        self._log: list[str] = []  # trial ids, once per growth, in order

    def __getitem__(self, trial_id: str) -> list[tuple[int, float]]:
        return self._curves[trial_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._curves)

    def __len__(self) -> int:
        return len(self._curves)

    def add(self, trial_id: str) -> None:
        if trial_id not in self._curves:
            self._curves[trial_id] = []
            self._log.append(trial_id)

    def extend(self, trial_id: str, points: list[tuple[int, float]]) -> None:
        # NaN for any non-finite value: the stoppers treat it as the worst value, whatever the goal
        self._curves.setdefault(trial_id, []).extend(
            (s, v if math.isfinite(v) else math.nan) for s, v in points)
        self._log.append(trial_id)

    def changed_since(self, cursor: int) -> tuple[list[str], int]:
        """The trial ids whose curve grew (or appeared) since ``cursor``, and the new cursor
        (0 is before everything)."""
        return list(dict.fromkeys(self._log[cursor:])), len(self._log)


class TrialCurves:
    """Reads each tracked trial's curve of ``metric`` incrementally (a cache per run, keyed by the
    offset ``read_history`` returned)."""

    def __init__(self, tracker: Any, metric: str):
        self.tracker, self.metric = tracker, metric
        self.curves = Curves()
        self._offsets: dict[str, Any] = {}   # run id -> next offset
        self._runs: dict[str, str] = {}      # trial id -> run id
        self._live: set[str] = set()         # trials that may still log: read at every refresh
        self._ending: set[str] = set()       # ended: read once more, then dropped from _live
        self._final: set[str] = set()        # their whole curve is in: never read again

    def track(self, trial_id: str, run_id: str, *, ended: bool = False) -> None:
        """Follow a trial; one that has ``ended`` is read once more at the next refresh, then
        left alone."""
        if trial_id in self._final:
            return
        self._runs[trial_id] = run_id
        self.curves.add(trial_id)
        self._live.add(trial_id)
        if ended:
            self._ending.add(trial_id)

    def finish(self, trial_id: str) -> list[tuple[int, float]]:
        """An ended trial's whole curve: what is left of its history read now, then never again."""
        if trial_id in self._runs and trial_id not in self._final:
            self._read(trial_id)
        self._drop(trial_id)
        return list(self.curves.get(trial_id, []))

    def settle(self, trial_id: str, points: list[tuple[int, float]]) -> None:
        """An ended trial's whole curve, known without its history (``EndedCurveLog``): the part
        not read yet is added (the curve stays append-only) and the history is never read."""
        if trial_id in self._final:
            return
        self.curves.add(trial_id)
        have = len(self.curves[trial_id])
        if len(points) > have:
            self.curves.extend(trial_id, points[have:])
        self._drop(trial_id)

    def _drop(self, trial_id: str) -> None:
        self._final.add(trial_id)
        self._live.discard(trial_id)
        self._ending.discard(trial_id)

    def refresh(self) -> Curves:
        for trial_id in list(self._live):
            self._read(trial_id)
            if trial_id in self._ending:
                self._live.discard(trial_id)
                self._ending.discard(trial_id)
        return self.curves

    def _read(self, trial_id: str) -> None:
        run_id = self._runs[trial_id]
        try:
            rows, self._offsets[run_id] = self.tracker.read_history(
                run_id, start=self._offsets.get(run_id, 0), metric=self.metric)
        except Exception:  # an unreadable run has no curve; the sweep goes on
            return
        points = [(step, value) for step, name, value, _ in rows
                  if name == self.metric and step is not None]
        if points:
            self.curves.extend(trial_id, points)


__all__ = ["Curves", "TrialCurves"]
