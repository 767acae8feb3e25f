"""The trial side of a sweep: a program launched as a trial asks the sweep's early stopper.

``exptrack.init()`` inside a trial (``EXPTRACK_SWEEP_ID`` set) attaches ``sweep_verdict`` to the run,
so ``run.should_stop()`` asks the stopper plugin the sweep was configured with, on every trial's
curve of the sweep metric. The trials come from the sweep's journal, replayed from where the last
verdict stopped; the curves through the tracker's ``read_history`` (``exptrack_core.sweep.curves``).
"""

from __future__ import annotations

import os
from typing import Any

from exptrack_core.plugin.registry import get_registry
from exptrack_core.sweep.curves import TrialCurves
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
    journal = store.replay()
    curves = TrialCurves(run.tracker, metric)
    curves.track(trial_id, run.id)

    def verdict(_run: Any) -> bool:
        # only the journal's new events and the histories of trials that may still log are read
        for t in journal.update():
            if t.trial_id != trial_id:
                curves.track(t.trial_id, t.run_id, ended=not t.in_flight)
        return bool(stopper.should_stop(trial_id, curves.refresh()))

    run._stopper = verdict


__all__ = ["ENV_STOP_FILE", "attach_stopper", "build_stopper"]
