"""The trial side of a sweep: a program launched as a trial asks the sweep's early stopper.

``exptrack.init()`` inside a trial (``EXPTRACK_SWEEP_ID`` set) attaches ``sweep_verdict`` to the run,
so ``run.should_stop()`` reads every trial's curve of the sweep metric from the record and asks
the stopper plugin the sweep was configured with. It works across processes: the record is files.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from exptrack_core.plugin.registry import get_registry
from exptrack_core.sweep.journal import SweepStore
from exptrack_core.sweep.keys import watched_metric

ENV_STOP_FILE = "EXPTRACK_STOP_FILE"  # set by an executor whose trials cannot read the record


class CurveReader:
    """Reads each trial's (step, value) curve of one metric, incrementally from where it stopped."""

    def __init__(self, tracker: Any, metric: str):
        self.tracker, self.metric = tracker, metric
        self._offsets: dict[str, int] = {}
        self._curves: dict[str, list[tuple[int, float]]] = {}

    def read(self, trials: dict[str, str]) -> dict[str, list[tuple[int, float]]]:
        """``trials`` maps trial id -> run id; returns trial id -> curve."""
        from exptrack_plugins.local.files import complete_size, iter_history

        for trial_id, run_id in trials.items():
            try:
                path = Path(self.tracker.run_dir(run_id)) / "metrics.csv"
            except Exception:
                continue
            start = self._offsets.get(trial_id, 0)
            end = complete_size(path)
            if end > start:
                curve = self._curves.setdefault(trial_id, [])
                for step, name, value, _ in iter_history(path, start):
                    if name == self.metric and step is not None:
                        curve.append((step, value))
                self._offsets[trial_id] = end
        return {t: list(self._curves.get(t, [])) for t in trials}


def build_stopper(config: dict[str, Any]):
    """The stopper plugin a sweep config asks for, or None."""
    early = config.get("early_terminate")
    if not early:
        return None
    _, goal = watched_metric(config)
    options = {k: v for k, v in early.items() if k != "metric"}  # ours, not the stopper's
    return get_registry().stopper(early["type"], options, goal)


def attach_stopper(run: Any) -> None:
    flag = os.environ.get(ENV_STOP_FILE)
    if flag:  # a trial on another machine: its controller decides and raises this flag
        run._stopper = lambda _run: os.path.exists(flag)
        return
    sweep_id, trial_id = run.info.sweep_id, run.info.trial_id
    store = SweepStore(run.tracker.root, sweep_id)
    if not (store.dir / "sweep.json").is_file():
        return  # a sweep record elsewhere (e.g. a DVC temp dir): no early stopping
    config = store.meta()["config"]
    stopper = build_stopper(config)
    metric, _ = watched_metric(config)
    if stopper is None or not metric:
        return
    reader = CurveReader(run.tracker, metric)
    cache: dict[str, str] = {}

    def verdict(_run: Any) -> bool:
        cache.update({t.trial_id: t.run_id for t in store.trials().values()})
        cache[trial_id] = run.id
        curves = reader.read(cache)
        curves = {t: [(s, v if math.isfinite(v) else math.nan) for s, v in c]
                  for t, c in curves.items()}
        return bool(stopper.should_stop(trial_id, curves))

    run._stopper = verdict


__all__ = ["ENV_STOP_FILE", "CurveReader", "attach_stopper", "build_stopper"]
