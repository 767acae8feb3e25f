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
from exptrack_core.sweep.snapshot import Snapshot, read_snapshot, snapshot_key, supports_snapshots

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
    store = SweepStore(run.tracker.root, run.info.sweep_id)
    if not (store.dir / "sweep.json").is_file():
        return  # a sweep record elsewhere (e.g. a DVC temp dir): no early stopping
    config = store.meta()["config"]
    stopper = build_stopper(config)
    if stopper is None or not watched_metric(config)[0]:
        return
    run._stopper = Verdicts(store, config, run.tracker, run.info.trial_id, run.id, stopper)


class Verdicts:
    """A trial's verdicts: the first starts from the controller's snapshot when there is a
    usable one (``snapshot``), else from the records; the later ones read what was appended."""

    def __init__(self, store: SweepStore, config: dict[str, Any], tracker: Any, trial_id: str,
                 run_id: str, stopper: Any = None):
        self.store, self.config, self.tracker = store, config, tracker
        self.trial_id, self.run_id = trial_id, run_id
        self.metric = watched_metric(config)[0]
        self.stopper: Any = stopper  # a fresh one (attach_stopper's), until the first verdict
        self.curves: SweepCurves | None = None
        self.from_snapshot = False

    def __call__(self, _run: Any = None) -> bool:
        if self.curves is None:
            return self._first()
        return bool(self.stopper.should_stop(self.trial_id, self.curves.refresh()))

    def _first(self) -> bool:
        stopper = self.stopper or build_stopper(self.config)
        if supports_snapshots(stopper):
            snap = read_snapshot(self.store.dir, snapshot_key(self.config))
            # the asking trial folded in (a re-run continuing it) would count twice: the records
            if snap is not None and self.trial_id not in snap.folded:
                if stopper.restore_snapshot(snap.state):
                    curves = SweepCurves(self.store, self.tracker, self.metric, self.trial_id,
                                         self.run_id, snapshot=snap)
                    seen = curves.refresh()
                    if not curves.refolded:  # else a folded trial's curve may have changed since
                        self.stopper, self.curves, self.from_snapshot = stopper, curves, True
                        return bool(stopper.should_stop(self.trial_id, seen))
                stopper = build_stopper(self.config)  # what a restore left in it is not trusted
        self.stopper = stopper
        self.curves = SweepCurves(self.store, self.tracker, self.metric, self.trial_id, self.run_id)
        return bool(stopper.should_stop(self.trial_id, self.curves.refresh()))


class SweepCurves:
    """Every trial's curve of the sweep's ``metric``, as one trial process sees it.

    Ended trials' final curves come from the controller's ``EndedCurveLog`` (one file read from an
    offset); the others (in flight, or ended with no line there yet) through ``read_history``
    from their cached offsets; only the journal's new events are read. So the first verdict costs
    one read of each file however many trials ended, and every later one what was appended.

    From a ``snapshot``, both files are read from its offsets and the trials folded into its
    stopper state are left out (the stopper holds them): a later event or line about one of them
    is ignored, as an ended trial's is; a line read at the first refresh sets ``refolded``."""

    def __init__(self, store: SweepStore, tracker: Any, metric: str, trial_id: str, run_id: str,
                 snapshot: Snapshot | None = None):
        self.trial_id, self.metric = trial_id, metric
        self.journal = store.replay()
        self.ended = EndedCurveLog(store.dir)
        self.curves = TrialCurves(tracker, metric)
        self.folded: frozenset[str] = frozenset()
        self.refolded, self._refreshed = False, False
        if snapshot is not None:
            self.folded = snapshot.folded
            for t in snapshot.seed(self.journal, self.ended):
                if t.trial_id != trial_id:
                    self.curves.track(t.trial_id, t.run_id, ended=not t.in_flight)
        self.curves.track(trial_id, run_id)

    def refresh(self) -> Curves:
        # the ended curves first: a trial settled here is never opened when the journal names it
        for tid, points in self.ended.read_new(self.metric).items():
            if tid in self.folded:
                self.refolded |= not self._refreshed
            elif tid != self.trial_id:
                self.curves.settle(tid, points)
        self._refreshed = True
        for t in self.journal.update():
            if t.trial_id != self.trial_id and t.trial_id not in self.folded:
                self.curves.track(t.trial_id, t.run_id, ended=not t.in_flight)
        return self.curves.refresh()


__all__ = ["ENV_STOP_FILE", "SweepCurves", "Verdicts", "attach_stopper", "build_stopper"]
