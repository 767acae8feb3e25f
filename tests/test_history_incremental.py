"""Curves are read through the tracker's ``read_history``, from where the last read stopped.

The local tracker returns only the rows appended since an offset (never a torn last line), and
early stopping reads every trial's curve through that API alone, so a tracker that keeps its
history anywhere (here: in memory, no files) serves the stoppers as the local one does."""

from __future__ import annotations

import random

import pytest

from exptrack_core.errors import ExptrackError
from exptrack_core.sweep.curves import Curves, TrialCurves
from exptrack_core.sweep.endedcurves import EndedCurveLog
from exptrack_core.sweep.states import TrialRecord
from exptrack_plugins.local.tracker import LocalTracker
from exptrack_plugins.stopping.hyperband import HyperbandStopper
from exptrack_plugins.stopping.median import MedianStopper


@pytest.fixture
def tracker(tmp_path):
    return LocalTracker(tmp_path / "experiments")


def test_read_history_returns_the_rows_appended_since_the_offset_it_gave(tracker):
    run = tracker.create_run("exp")
    tracker.log_metrics(run, {"loss": 1.0, "acc": 0.1}, 0, 100.0)
    rows, offset = tracker.read_history(run)
    assert rows == [(0, "loss", 1.0, 100.0), (0, "acc", 0.1, 100.0)]
    assert tracker.read_history(run, start=offset) == ([], offset)  # nothing new
    tracker.log_metrics(run, {"loss": 0.5}, 1, 101.0)
    tracker.log_metrics(run, {"loss": float("nan")}, 2, 102.0)
    rows, later = tracker.read_history(run, start=offset)
    assert rows[0] == (1, "loss", 0.5, 101.0) and rows[1][0] == 2 and rows[1][2] != rows[1][2]
    assert later > offset


def test_read_history_of_one_metric_leaves_the_others_out(tracker):
    run = tracker.create_run("exp")
    tracker.log_metrics(run, {"loss": 1.0, "loss_ema": 2.0, "val/loss": 3.0}, 0, 100.0)
    tracker.log_metrics(run, {"loss": 0.9}, None, 101.0)  # a final value has no step
    rows, _ = tracker.read_history(run, metric="loss")
    assert rows == [(0, "loss", 1.0, 100.0), (None, "loss", 0.9, 101.0)]


def test_a_line_being_written_is_returned_only_once_it_is_complete(tracker):
    run = tracker.create_run("exp")
    tracker.log_metrics(run, {"loss": 1.0}, 0, 100.0)
    tracker.close(run)
    history = tracker.run_dir(run) / "metrics.csv"
    with open(history, "ab") as f:  # another process, half-way through its write
        f.write(b"1,loss,0.")
    rows, offset = tracker.read_history(run)
    assert rows == [(0, "loss", 1.0, 100.0)]
    assert tracker.read_history(run, start=offset) == ([], offset)
    with open(history, "ab") as f:
        f.write(b"5,101.0\n")
    assert tracker.read_history(run, start=offset)[0] == [(1, "loss", 0.5, 101.0)]


@pytest.mark.parametrize("bad", [-1, "12", 1.5, True])
def test_an_offset_that_read_history_never_gave_is_refused_naming_it(tracker, bad):
    run = tracker.create_run("exp")
    with pytest.raises(ExptrackError, match="invalid history offset"):
        tracker.read_history(run, start=bad)


class MemoryTracker:
    """A third-party tracker keeping histories in memory: no run directory, no metrics.csv.
    It counts the reads it serves, which is what the stoppers' input costs."""

    def __init__(self):
        self.rows: dict[str, list[tuple]] = {}
        self.reads: dict[str, int] = {}

    def log(self, run_id, step, name, value):
        self.rows.setdefault(run_id, []).append((step, name, value, 0.0))

    def run_dir(self, run_id):
        raise AssertionError("early stopping must not look for a run's files")

    def read_history(self, run_id, *, start=0, metric=None):
        self.reads[run_id] = self.reads.get(run_id, 0) + 1
        rows = self.rows.get(run_id, [])[start:]
        return [r for r in rows if metric is None or r[1] == metric], start + len(rows)


def test_early_stopping_reads_curves_only_through_the_trackers_read_history():
    tracker = MemoryTracker()
    curves = TrialCurves(tracker, "loss")
    curves.track("t1", "run-1")
    curves.track("t2", "run-2")
    for step in range(3):
        tracker.log("run-1", step, "loss", 1.0 - step / 10)
        tracker.log("run-1", step, "acc", 0.5)
    tracker.log("run-2", 0, "loss", 9.0)
    assert dict(curves.refresh()) == {"t1": [(0, 1.0), (1, 0.9), (2, 0.8)], "t2": [(0, 9.0)]}
    tracker.log("run-1", 3, "loss", float("inf"))
    got = curves.refresh()["t1"]
    assert got[:3] == [(0, 1.0), (1, 0.9), (2, 0.8)] and got[3][0] == 3 and got[3][1] != got[3][1]


def test_a_trial_that_ended_is_read_once_more_and_then_never_again():
    tracker = MemoryTracker()
    curves = TrialCurves(tracker, "loss")
    curves.track("t1", "run-1")
    tracker.log("run-1", 0, "loss", 1.0)
    curves.refresh()
    tracker.log("run-1", 1, "loss", 0.5)  # its last value, logged just before it ended
    curves.track("t1", "run-1", ended=True)
    assert curves.refresh()["t1"] == [(0, 1.0), (1, 0.5)]
    reads = tracker.reads["run-1"]
    for _ in range(5):
        curves.refresh()
    assert tracker.reads["run-1"] == reads


@pytest.mark.parametrize("make", [
    lambda: HyperbandStopper({"min_iter": 1, "eta": 2}, "minimize"),
    lambda: HyperbandStopper({"min_iter": 2, "eta": 3, "strict": False}, "maximize"),
    lambda: MedianStopper({"min_trials": 2}, "minimize"),
])
def test_a_stopper_fed_the_growing_curves_decides_as_one_that_sees_them_fresh(make):
    """The stoppers keep what they derived between verdicts on the core's ``Curves``; every
    verdict must still be the one a new stopper gives on a plain copy of the same curves."""
    rng = random.Random(7)
    incremental, live = make(), Curves()
    for _ in range(300):
        trial = f"t{rng.randrange(12)}"
        step = len(live.get(trial, [])) + rng.choice([0, 0, 0, 1, -1])  # some out of order
        value = rng.choice([rng.random(), rng.random(), float("nan"), float("inf")])
        live.extend(trial, [(step, value)])
        asking = f"t{rng.randrange(12)}"
        plain = {t: list(points) for t, points in live.items()}
        assert incremental.should_stop(asking, live) == make().should_stop(asking, plain)


# -- the ended trials' curves, from the controller's one file ---------------------------------
class Counting:
    """The local tracker, counting the histories a trial process opens."""

    def __init__(self, tracker):
        self.tracker, self.reads = tracker, {}

    def read_history(self, run_id, **kw):
        self.reads[run_id] = self.reads.get(run_id, 0) + 1
        return self.tracker.read_history(run_id, **kw)


def every_history(tracker, store, metric):
    """What a trial process would see reading every trial's history from the start."""
    fresh = TrialCurves(tracker, metric)
    for t in store.trials().values():
        fresh.track(t.trial_id, t.run_id)
    return {t: list(p) for t, p in fresh.refresh().items() if p}


def test_a_sweep_leaves_each_ended_trials_curve_in_one_file_that_a_trial_reads_instead(tmp_path):
    import exptrack
    from exptrack_core.sweep.config import SweepConfig
    from exptrack_core.sweep.controller import SweepRunner
    from exptrack_core.sweep.journal import SweepStore
    from exptrack_core.sweep.stopping import SweepCurves

    config = {"method": "random", "run_cap": 6, "metric": {"name": "loss", "goal": "minimize"},
              "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3},
              "parameters": {"lr": {"min": 0.1, "max": 1.0}}}
    root = tmp_path / "experiments"
    store = SweepStore.create(root, name="s", experiment="e", config=config)

    def objective(params):
        run = exptrack.init(backends="local")
        for step in range(4):
            run.log({"loss": params["lr"] / (step + 1)}, step=step)
        run.finish()
        return params["lr"] / 4

    SweepRunner(SweepConfig.parse(config), store, executor="inline", objective=objective,
                seed=1).run()
    tracker = LocalTracker(root)
    curves = {t: p for t, p in EndedCurveLog(store.dir).read_new("loss").items()}
    assert len(curves) == 6 and curves == every_history(tracker, store, "loss")

    # a new trial joins: its first verdict opens its own history only
    me = tracker.create_run("e", sweep_id=store.id, trial_id="t0007")
    store.record_start(TrialRecord("t0007", me, {"lr": 0.5}))
    counting = Counting(tracker)
    seen = SweepCurves(store, counting, "loss", "t0007", me).refresh()
    assert set(counting.reads) == {me}
    assert {t: p for t, p in seen.items() if p} == every_history(tracker, store, "loss")


def test_a_stopper_fed_ended_curves_from_the_file_decides_as_one_reading_every_history(tmp_path):
    """Trials start, log and end at random; the controller writes an ended trial's line before
    its end event, after it, or never (a crash, an older sweep); a trial process asking after
    every change decides as a new stopper reading every history from the start."""
    from exptrack_core.sweep.journal import SweepStore
    from exptrack_core.sweep.stopping import SweepCurves

    rng = random.Random(3)
    root = tmp_path / "experiments"
    store = SweepStore.create(root, name="s", experiment="e", config={"method": "random"})
    tracker = LocalTracker(root)
    controller, log = TrialCurves(tracker, "loss"), EndedCurveLog(store.dir)
    me = tracker.create_run("e")
    store.record_start(TrialRecord("me", me, {}))
    asking = SweepCurves(store, tracker, "loss", "me", me)
    stopper = HyperbandStopper({"min_iter": 1, "eta": 2}, "minimize")
    live: dict[str, TrialRecord] = {}
    for i in range(120):
        roll = rng.random()
        if roll < 0.15 or not live:
            trial = TrialRecord(f"t{i}", tracker.create_run("e"), {})
            store.record_start(trial)
            store.record_launch(trial, None)
            controller.track(trial.trial_id, trial.run_id)
            live[trial.trial_id] = trial
        elif roll < 0.3:
            trial = live.pop(rng.choice(sorted(live)))
            when = rng.choice(["before", "after", "never"])
            if when == "before":
                log.append(trial.trial_id, "loss", controller.finish(trial.trial_id))
            store.record_end(trial, "completed", None)
            if when == "after":
                log.append(trial.trial_id, "loss", controller.finish(trial.trial_id))
        else:
            run = live[rng.choice(sorted(live))].run_id
            step = tracker.read_history(run)[0].__len__()
            tracker.log_metrics(run, {"loss": rng.choice([rng.random(), float("nan")])}, step, 0.0)
        tracker.log_metrics(me, {"loss": rng.random()}, i, 0.0)
        fresh = every_history(tracker, store, "loss")
        fresh["me"] = [(s, v) for s, _, v, _ in tracker.read_history(me)[0]]
        assert stopper.should_stop("me", asking.refresh()) == \
            HyperbandStopper({"min_iter": 1, "eta": 2}, "minimize").should_stop("me", fresh)


class Watched(Curves):
    """The core's curves, noting which ones a stopper reads."""

    def __init__(self):
        super().__init__()
        self.looked: set[str] = set()

    def __getitem__(self, trial_id):
        self.looked.add(trial_id)
        return super().__getitem__(trial_id)


@pytest.mark.parametrize("make", [
    lambda: MedianStopper({"min_trials": 2}, "minimize"),
    lambda: HyperbandStopper({"min_iter": 1, "eta": 3}, "minimize"),
])
def test_a_stopper_looks_again_only_at_the_curves_that_grew_since_its_last_verdict(make):
    stopper, live = make(), Watched()
    for i in range(50):
        live.extend(f"t{i}", [(0, i / 50), (1, i / 60)])
    stopper.should_stop("t3", live)
    live.looked.clear()
    live.extend("t3", [(2, 0.01)])
    live.extend("t7", [(2, 0.02)])
    stopper.should_stop("t3", live)
    assert live.looked <= {"t3", "t7"}


def test_the_ended_curves_file_skips_a_damaged_line_and_waits_for_a_half_written_one(tmp_path):
    log = EndedCurveLog(tmp_path)
    log.append("t1", "loss", [(0, 1.0), (1, float("nan"))])
    with open(log.path, "ab") as f:
        f.write(b'{"trial_id": "t2", "metric": "loss", "steps": "!!", "values": ""}\n')
        f.write(b'{"trial_id": "t3", "met')  # a controller still writing it
    got = log.read_new("loss")
    assert list(got) == ["t1"] and got["t1"][0] == (0, 1.0) and got["t1"][1][1] != got["t1"][1][1]
    with open(log.path, "ab") as f:
        f.write(b'ric": "acc", "steps": "", "values": ""}\n')
    assert log.read_new("loss") == {}  # complete now, but of another metric
    log.append("t4", "loss", [(3, 0.5)])
    assert log.read_new("loss") == {"t4": [(3, 0.5)]}
