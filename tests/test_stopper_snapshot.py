"""A trial's verdicts start from the controller's snapshot and decide exactly as from the records.

The snapshot (``exptrack_core.sweep.snapshot``) is a shortcut the controller rewrites now and
then; a trial process that starts from it must give, at every step, the verdict a trial process
reading every record (``SweepCurves``, a fresh stopper) gives at the same moment, and one that
finds it missing, damaged, stale or of another config reads the records instead."""

from __future__ import annotations

import json
import math
import random

import pytest

from exptrack_core import hookimpl
from exptrack_core.sweep.curves import TrialCurves
from exptrack_core.sweep.endedcurves import EndedCurveLog
from exptrack_core.sweep.journal import SweepStore
from exptrack_core.sweep.snapshot import FILE, SnapshotWriter
from exptrack_core.sweep.states import TrialRecord
from exptrack_core.sweep.stopping import SweepCurves, Verdicts, build_stopper
from exptrack_plugins.local.tracker import LocalTracker

STOPPERS = [
    {"type": "hyperband", "min_iter": 1, "eta": 2},
    {"type": "hyperband", "min_iter": 2, "eta": 3, "strict": False},
    {"type": "hyperband", "max_iter": 9, "s": 2, "eta": 3},
    {"type": "hyperband", "max_iter": 8, "s": 3, "eta": 2, "strict": False},
    {"type": "median", "min_trials": 2},
    {"type": "median", "min_steps": 2, "min_trials": 3},
]


def sweep_config(early, goal="minimize"):
    return {"method": "random", "metric": {"name": "loss", "goal": goal}, "early_terminate": early,
            "parameters": {"lr": {"min": 0.1, "max": 1.0}}}


class Sweep:
    """A sweep's records as a controller leaves them: each trial's run in the local tracker, its
    moves in the journal, its final curve appended to ``curves.jsonl`` before its end (as
    ``SweepRunner._end`` does), and the snapshot rewritten whenever the test says."""

    def __init__(self, root, config):
        self.config = config
        self.store = SweepStore.create(root, name="s", experiment="e", config=config)
        self.tracker = LocalTracker(root)
        self.curves = TrialCurves(self.tracker, "loss")
        self.log = EndedCurveLog(self.store.dir)
        self.writer = SnapshotWriter.start(self.store, config)
        self.live: dict[str, TrialRecord] = {}
        self.killed: list[TrialRecord] = []
        self.steps: dict[str, int] = {}
        self.n = 0

    def start(self, rerun: TrialRecord | None = None) -> TrialRecord:
        if rerun is not None:  # a re-run continuing a killed trial: same trial, same run
            trial = TrialRecord(rerun.trial_id, rerun.run_id, {}, attempt=rerun.attempt + 1)
        else:
            self.n += 1
            trial = TrialRecord(f"t{self.n:03d}", self.tracker.create_run("e"), {})
        self.store.record_start(trial)
        self.store.record_launch(trial, None)
        self.curves.track(trial.trial_id, trial.run_id)
        self.live[trial.trial_id] = trial
        return trial

    def log_value(self, rng, trial_id):
        step = self.steps.get(trial_id, 0)
        stride = 1 + sum(map(ord, trial_id)) % 3  # some trials log every step, others every 2nd or 3rd
        if step > 2 and rng.random() < 0.15:  # a step logged late, below the latest one
            step_logged = rng.randrange(step)
        else:
            step_logged, self.steps[trial_id] = step, step + stride
        value = rng.choice([rng.random(), rng.random(), rng.random(), math.nan, math.inf])
        self.tracker.log_metrics(self.live[trial_id].run_id, {"loss": value}, step_logged, 0.0)

    def end(self, rng, trial_id, status="completed"):
        trial = self.live.pop(trial_id)
        if rng.random() < 0.9:  # else its line was never written (a full disk): read its history
            self.log.append(trial_id, "loss", self.curves.finish(trial_id))
        self.store.record_end(trial, status, None)
        self.curves.track(trial_id, trial.run_id, ended=True)
        if status == "killed":
            self.killed.append(trial)
        if self.writer is not None:
            self.writer.ended()


class Asker:
    """A trial process asking for verdicts two ways at once: through ``Verdicts`` (from the
    snapshot when it can) and through today's path (every record, a fresh stopper)."""

    def __init__(self, sweep, trial):
        self.sweep, self.trial = sweep, trial
        self.fast = Verdicts(sweep.store, sweep.config, sweep.tracker, trial.trial_id, trial.run_id)
        self.stopper = build_stopper(sweep.config)
        self.full = SweepCurves(sweep.store, sweep.tracker, "loss", trial.trial_id, trial.run_id)

    def agree(self) -> bool:
        expected = self.stopper.should_stop(self.trial.trial_id, self.full.refresh())
        return self.fast() == expected


def play(tmp_path, seed, early, goal, *, moves=110):
    """A random sweep; after every move each asking trial's two verdicts are compared."""
    rng = random.Random(seed)
    sweep = Sweep(tmp_path / f"s{seed}", sweep_config(early, goal))
    askers: list[Asker] = []
    for _ in range(moves):
        roll = rng.random()
        if roll < 0.12 or not sweep.live:
            sweep.start()
        elif roll < 0.17 and sweep.killed:
            sweep.start(rerun=sweep.killed.pop(rng.randrange(len(sweep.killed))))
        elif roll < 0.32:
            mine = {a.trial.trial_id for a in askers}
            others = sorted(set(sweep.live) - mine)
            if others:
                sweep.end(rng, rng.choice(others), rng.choice(["completed", "pruned", "killed"]))
        elif roll < 0.40 and sweep.writer is not None:
            sweep.writer.flush()
        elif roll < 0.46:  # a trial process joins the sweep and asks after each of its steps
            askers.append(Asker(sweep, sweep.start()))
        elif roll < 0.49 and sweep.killed:  # ... or a re-run continuing a killed trial does
            askers.append(Asker(sweep, sweep.start(rerun=sweep.killed.pop())))
        else:
            sweep.log_value(rng, rng.choice(sorted(sweep.live)))
        for asker in askers:
            if asker.trial.trial_id in sweep.live and rng.random() < 0.3:
                sweep.log_value(rng, asker.trial.trial_id)
            assert asker.agree(), f"seed {seed}: {asker.trial.trial_id} decided differently"
    return askers


@pytest.mark.slow
@pytest.mark.parametrize("early", STOPPERS, ids=lambda e: json.dumps(e, sort_keys=True))
@pytest.mark.parametrize("goal", ["minimize", "maximize"])
def test_a_trial_starting_from_the_snapshot_decides_as_one_reading_every_record(tmp_path, early, goal):
    from_snapshot = 0
    for seed in range(2):
        askers = play(tmp_path, seed, early, goal)
        from_snapshot += sum(a.fast.from_snapshot for a in askers)
    assert from_snapshot >= 5  # the snapshot path was taken, not only the records'


def test_a_real_sweeps_trials_start_from_the_snapshot_and_decide_as_from_the_records(tmp_path):
    import exptrack
    from exptrack_core.sweep.config import SweepConfig
    from exptrack_core.sweep.controller import SweepRunner

    config = {"method": "random", "run_cap": 24, "metric": {"name": "loss", "goal": "minimize"},
              "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
              "parameters": {"lr": {"min": 0.1, "max": 1.0}}}
    root = tmp_path / "experiments"
    store = SweepStore.create(root, name="s", experiment="e", config=config)
    seen: list[bool] = []

    def objective(params):
        run = exptrack.init(backends="local")
        me = run.info.trial_id
        full_stopper = build_stopper(config)
        full = SweepCurves(store, run.tracker, "loss", me, run.id)
        for step in range(6):
            run.log({"loss": params["lr"] / (step + 1) ** params["lr"]}, step=step)
            stop = run.should_stop()
            assert stop == full_stopper.should_stop(me, full.refresh())
            if stop:
                break
        seen.append(run._stopper.from_snapshot)
        run.finish()
        return params["lr"]

    SweepRunner(SweepConfig.parse(config), store, executor="inline", objective=objective,
                seed=4).run()
    assert len(seen) == 24 and all(seen)  # the controller wrote it before its first trial
    assert sum(t.status == "pruned" for t in store.trials().values()) > 0


# --- what a trial does when the snapshot cannot be trusted -----------------------------------

def ended_sweep(tmp_path, early=None, trials=12):
    """A sweep of ended trials with its snapshot written, and a new trial joining it."""
    rng = random.Random(7)
    sweep = Sweep(tmp_path / "experiments",
                  sweep_config(early or {"type": "hyperband", "min_iter": 1, "eta": 2}))
    for _ in range(trials):
        t = sweep.start()
        for _ in range(rng.randrange(1, 6)):
            sweep.log_value(rng, t.trial_id)
        sweep.end(rng, t.trial_id)
    if sweep.writer is not None:
        sweep.writer.flush()
    me = sweep.start()
    for _ in range(3):
        sweep.log_value(rng, me.trial_id)
    return sweep, me


def asked(sweep, me) -> Asker:
    asker = Asker(sweep, me)
    assert asker.agree()
    return asker


def test_a_trial_of_a_sweep_with_a_good_snapshot_starts_from_it(tmp_path):
    sweep, me = ended_sweep(tmp_path)
    assert asked(sweep, me).fast.from_snapshot


def test_without_a_snapshot_a_trial_reads_the_records(tmp_path):
    sweep, me = ended_sweep(tmp_path)
    (sweep.store.dir / FILE).unlink()
    assert not asked(sweep, me).fast.from_snapshot


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],                      # cut short
    lambda data: data[:-8] + b"\x00" * 8,                     # its last bytes overwritten
    lambda data: b"not a snapshot\n" + data,
    lambda data: b"",
    lambda data: data.replace(b'"format": 1', b'"format": 0', 1),  # an older format
])
def test_a_damaged_or_older_snapshot_is_ignored_and_the_records_decide(tmp_path, damage):
    sweep, me = ended_sweep(tmp_path)
    path = sweep.store.dir / FILE
    path.write_bytes(damage(path.read_bytes()))
    assert not asked(sweep, me).fast.from_snapshot


def test_a_snapshot_of_another_sweeps_records_is_ignored(tmp_path):
    sweep, me = ended_sweep(tmp_path / "a")
    other, _ = ended_sweep(tmp_path / "b", trials=14)  # same config, other records
    (sweep.store.dir / FILE).write_bytes((other.store.dir / FILE).read_bytes())
    assert not asked(sweep, me).fast.from_snapshot


def test_a_snapshot_ahead_of_its_records_is_ignored(tmp_path):
    sweep, me = ended_sweep(tmp_path)
    journal = sweep.store.dir / "trials.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data[: data.rfind(b"\n", 0, len(data) // 2) + 1])  # restored from a backup
    asker = Asker(sweep, me)
    assert asker.agree() and not asker.fast.from_snapshot


def test_a_snapshot_left_behind_by_the_records_is_caught_up_from_its_offsets(tmp_path):
    sweep, me = ended_sweep(tmp_path)
    rng = random.Random(1)
    for _ in range(5):  # trials end after the snapshot was written, before the verdict
        t = sweep.start()
        for _ in range(4):
            sweep.log_value(rng, t.trial_id)
        sweep.end(rng, t.trial_id)
    assert asked(sweep, me).fast.from_snapshot


def test_a_snapshot_written_for_another_stopper_config_is_ignored(tmp_path):
    sweep, me = ended_sweep(tmp_path)
    other = SweepStore(sweep.store.root, sweep.store.id)
    meta = other.meta()
    meta["config"]["metric"]["goal"] = "maximize"  # the sweep file changed; the snapshot did not
    other.write_meta(meta)
    sweep.config = meta["config"]
    assert not asked(sweep, me).fast.from_snapshot


class ThirdPartyMedian:
    """A third party's stopper: ``should_stop`` alone (no snapshot interface)."""

    def __init__(self, config, goal):
        from exptrack_plugins.stopping.median import MedianStopper

        self.inner = MedianStopper({k: v for k, v in config.items() if k != "type"}, goal)

    def should_stop(self, trial_id, curves):
        return self.inner.should_stop(trial_id, curves)


class _ThirdParty:
    @hookimpl
    def register_stoppers(self, register):
        register("median-elsewhere", ThirdPartyMedian, "the median rule, from a third party")


def test_a_stopper_without_the_snapshot_interface_keeps_reading_the_records(tmp_path, monkeypatch):
    from importlib import metadata

    from exptrack_core.plugin import registry

    # the plugin installed beside the built-in ones, as its entry point would load it
    plugin = metadata.EntryPoint("elsewhere", "tests.test_stopper_snapshot:THIRD_PARTY", "exptrack")
    monkeypatch.setattr(registry, "_registry", registry.build_registry(
        list(metadata.entry_points(group=registry.ENTRY_POINT_GROUP)) + [plugin]))
    sweep, me = ended_sweep(tmp_path, {"type": "median-elsewhere", "min_trials": 2})
    assert sweep.writer is None and not (sweep.store.dir / FILE).exists()
    asker = asked(sweep, me)
    assert not asker.fast.from_snapshot and isinstance(asker.fast.stopper, ThirdPartyMedian)


THIRD_PARTY = _ThirdParty()


# --- a trial re-run in the run it continues ---------------------------------------------------

def sweep_of(tmp_path, curves: dict[str, list[float]]):
    """Hyperband (min_iter 1, eta 2) over trials ended with these curves, snapshot written."""
    rng = random.Random(0)
    sweep = Sweep(tmp_path / "experiments", sweep_config({"type": "hyperband", "min_iter": 1, "eta": 2}))
    trials = {}
    for name, values in curves.items():
        trials[name] = t = sweep.start()
        for step, value in enumerate(values):
            sweep.tracker.log_metrics(t.run_id, {"loss": value}, step, 0.0)
        sweep.end(rng, t.trial_id, "killed" if name == "killed" else "completed")
    sweep.writer.flush()
    return sweep, trials


def test_a_rerun_asking_for_its_verdict_is_not_counted_twice(tmp_path):
    # the killed attempt's curve is in the snapshot; its re-run continues the same run, whose
    # history is that curve: counted once (0.9 is worse than the top half: stopped)
    sweep, trials = sweep_of(tmp_path, {"b": [0.5], "c": [0.6], "killed": [0.9]})
    rerun = sweep.start(rerun=trials["killed"])
    asker = Asker(sweep, rerun)
    assert asker.fast() is True and asker.agree()


def test_a_trial_whose_final_curve_changed_after_the_snapshot_is_read_from_the_records(tmp_path):
    # a resumed controller (a fresh reader of the history) appends the re-run's whole curve as
    # a second line for the same trial; a fresh reader of the records uses that line
    sweep, trials = sweep_of(tmp_path, {"b": [0.5, 0.5], "killed": [0.9]})
    killed = trials["killed"]
    rerun = sweep.start(rerun=killed)
    sweep.tracker.log_metrics(killed.run_id, {"loss": 0.1}, 1, 0.0)
    resumed = TrialCurves(sweep.tracker, "loss")
    resumed.track(killed.trial_id, killed.run_id)
    sweep.log.append(killed.trial_id, "loss", resumed.finish(killed.trial_id))
    sweep.store.record_end(rerun, "completed", None)
    sweep.writer.ended()
    me = sweep.start()
    for step, value in enumerate([0.7, 0.2]):
        sweep.tracker.log_metrics(me.run_id, {"loss": value}, step, 0.0)
    asker = Asker(sweep, me)
    assert asker.agree() and not asker.fast.from_snapshot
    sweep.writer.flush()  # the controller sees two curves for one trial: it keeps no snapshot
    assert not (sweep.store.dir / FILE).exists()


def test_the_median_of_ended_and_running_peers_is_the_median_of_all_of_them():
    import statistics

    from exptrack_plugins.stopping.peers import median_of

    rng = random.Random(5)
    for _ in range(2000):
        a = sorted(rng.choice([rng.random(), 0.5, math.inf]) for _ in range(rng.randrange(6)))
        b = sorted(rng.choice([rng.random(), 0.5, math.inf]) for _ in range(rng.randrange(6)))
        if a or b:
            assert median_of(a, b) == statistics.median(a + b)


def test_the_ended_peers_counted_at_any_step_are_those_a_loop_over_every_peer_counts():
    from exptrack_plugins.stopping.median import MedianStopper
    from exptrack_plugins.stopping.peers import EndedPeers

    rng = random.Random(11)
    for _ in range(30):
        every, ended = MedianStopper({"min_trials": 1}), EndedPeers()
        curves = {}
        for p in range(rng.randrange(1, 12)):  # peers logging sparse, uneven steps
            steps = sorted(rng.sample(range(40), rng.randrange(1, 8)))
            curves[f"p{p}"] = [(s, rng.choice([rng.random(), math.nan])) for s in steps]
        every._update(curves)
        for steps, bests in every._derived.values():
            ended.fold(steps, bests)
        packed = EndedPeers.unpack(ended.pack())
        for step in range(-2, 43):
            expected = sorted(every.peers_best("nobody", step))
            assert list(ended.values_at(step)) == expected
            assert list(packed.values_at(step)) == expected
