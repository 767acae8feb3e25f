"""The trial side of a sweep: a program launched as a trial asks the sweep's early stopper.

``exptrack.init()`` inside a trial (``EXPTRACK_SWEEP_ID`` set) attaches ``sweep_verdict`` to the run,
so ``run.should_stop()`` asks the stopper plugin the sweep was configured with, on every trial's
curve of the sweep metric. The trials come from the sweep's journal, replayed from where the last
verdict stopped; ended trials' curves from the one file the controller appends them to
(``endedcurves``), the others through the tracker's ``read_history`` (``curves``).
"""

from __future__ import annotations

import os
from typing import Any

from exptrack_core.plugin.registry import get_registry
from exptrack_core.sweep.curves import Curves, TrialCurves
from exptrack_core.sweep.endedcurves import EndedCurveLog
from exptrack_core.sweep.journal import SweepStore
from exptrack_core.sweep.keys import watched_metric

ENV_STOP_FILE = "EXPTRACK_STOP_FILE"  # set by an executor whose trials cannot read the record


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
    curves = SweepCurves(store, run.tracker, metric, trial_id, run.id)

    def verdict(_run: Any) -> bool:
        return bool(stopper.should_stop(trial_id, curves.refresh()))

    run._stopper = verdict


class SweepCurves:
    """Every trial's curve of the sweep's ``metric``, as one trial process sees it.

    Ended trials' final curves come from the controller's ``EndedCurveLog`` (one file read from an
    offset); the others (in flight, or ended with no line there yet) through ``read_history``
    from their cached offsets; only the journal's new events are read. So the first verdict costs
    one read of each file however many trials ended, and every later one what was appended."""

    def __init__(self, store: SweepStore, tracker: Any, metric: str, trial_id: str, run_id: str):
        self.trial_id, self.metric = trial_id, metric
        self.journal = store.replay()
        self.ended = EndedCurveLog(store.dir)
        self.curves = TrialCurves(tracker, metric)
        self.curves.track(trial_id, run_id)

    def refresh(self) -> Curves:
        # the ended curves first: a trial settled here is never opened when the journal names it
        for tid, points in self.ended.read_new(self.metric).items():
            if tid != self.trial_id:
                self.curves.settle(tid, points)
        for t in self.journal.update():
            if t.trial_id != self.trial_id:
                self.curves.track(t.trial_id, t.run_id, ended=not t.in_flight)
        return self.curves.refresh()


__all__ = ["ENV_STOP_FILE", "SweepCurves", "attach_stopper", "build_stopper"]
