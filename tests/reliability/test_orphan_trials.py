"""A trial that ignores SIGTERM outlives its SIGKILLed controller. The resumed sweep stops that
orphan (its process group) before re-running its point, and a late finish of a superseded
attempt never turns its run completed: one grid point, one completed run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import exptrack
from exptrack_core.sweep.journal import SweepStore
from exptrack_plugins.local.tracker import LocalTracker

from ..conftest import run_cli
from .helpers import count, wait_until

# The first launch ignores SIGTERM and trains for 15 s; once it exists, later launches are quick.
STUBBORN = '''
import os, signal, time, exptrack
first = not os.path.exists("launched-once")
open("launched-once", "a").close()
if first:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with exptrack.init() as run:
    for epoch in range(30 if first else 2):
        run.log({"val_acc": 0.5 + epoch / 100}, step=epoch)
        time.sleep(0.5 if first else 0.0)
'''

ONE_POINT = '''
sweep:
  name: toy
  method: grid
  metric: {name: val_acc, goal: maximize}
  program: train.py
  command: ["${interpreter}", "${program}"]
  parameters:
    lr: {values: [0.01]}
'''


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _first_trial_owner(workdir: Path) -> int | None:
    for meta in (workdir / "experiments" / "toy").glob("*/meta.json"):
        try:
            owner = json.loads(meta.read_text()).get("owner") or {}
        except ValueError:
            continue
        if ",val_acc," in (meta.parent / "metrics.csv").read_text():
            return owner.get("pid")
    return None


@pytest.mark.slow
def test_an_orphan_that_ignores_sigterm_is_stopped_on_resume_and_never_completes_twice(workdir):
    (workdir / "train.py").write_text(STUBBORN)
    (workdir / "params.yaml").write_text(ONE_POINT)
    controller = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet"],
                                  cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    orphan = wait_until(lambda: _first_trial_owner(workdir), what="the first trial's first epoch")
    controller.kill()  # the controller alone: its trial leads its own session, and ignores SIGTERM
    controller.wait(30)
    count("faults")
    assert _alive(orphan)
    sweep_id = next((workdir / "experiments" / "_sweeps").iterdir()).name
    resumed = run_cli("sweep", "--resume", sweep_id, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    deadline = time.time() + 30  # were it left running, it would finish within this
    while _alive(orphan) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(orphan)
    # the program saved no checkpoint: its re-run starts over in a run of its own, once
    runs = exptrack.ExperimentTracker().list_runs("toy")
    assert sorted(r["status"] for r in runs) == ["completed", "killed"]
    listed = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    assert listed[0]["status"] == "completed" and listed[0]["trials"] == {"killed": 1, "completed": 1}
    count("records checked", len(runs))


@pytest.mark.parametrize("ended", ["killed", "crashed"])
def test_a_late_finish_of_a_superseded_attempt_leaves_its_run_as_the_sweep_ended_it(workdir, ended,
                                                                                     monkeypatch):
    """An orphan the resumed sweep could not stop (on another host, say) finishes after the
    sweep ended its run and re-ran its point: its finish must not make the run completed."""
    root = workdir / "experiments"
    store = SweepStore.create(root, name="toy", experiment="toy", config={"method": "grid"})
    tracker = LocalTracker(root)
    run_id = tracker.create_run("toy", params={"lr": 0.01}, sweep_id=store.id, trial_id="t0001")
    monkeypatch.setenv("EXPTRACK_DIR", str(root))
    monkeypatch.setenv("EXPTRACK_RUN_ID", run_id)
    monkeypatch.setenv("EXPTRACK_SWEEP_ID", store.id)
    monkeypatch.setenv("EXPTRACK_TRIAL_ID", "t0001")
    run = exptrack.init(backends="local")
    run.log({"val_acc": 0.9}, step=0)
    # the resumed sweep, in its own process: the attempt is superseded
    LocalTracker(root).set_status(run_id, ended, note="in flight when the sweep stopped; re-run")
    run.finish()
    record = exptrack.ExperimentTracker(root).get_run(run_id)
    assert record["status"] == ended
    assert record["note"] == "in flight when the sweep stopped; re-run"
    assert [p["value"] for p in record["metrics"]["val_acc"]] == [0.9]  # what it logged stays
    count("records checked")


def test_a_late_finish_of_an_attempt_a_re_run_continues_does_not_end_the_re_runs_run(workdir,
                                                                                       monkeypatch):
    """A re-run continues its trial's run (same run id, next attempt): the earlier attempt, an
    orphan finishing late, must not mark that run completed under the re-run's feet."""
    from exptrack_core.sweep.states import TrialRecord

    root = workdir / "experiments"
    store = SweepStore.create(root, name="toy", experiment="toy", config={"method": "grid"})
    tracker = LocalTracker(root)
    run_id = tracker.create_run("toy", params={"lr": 0.01}, sweep_id=store.id, trial_id="t0001")
    store.record_start(TrialRecord("t0001", run_id, {"lr": 0.01}, attempt=1))
    for name, value in {"EXPTRACK_DIR": str(root), "EXPTRACK_RUN_ID": run_id, "EXPTRACK_SWEEP_ID":
                        store.id, "EXPTRACK_TRIAL_ID": "t0001", "EXPTRACK_ATTEMPT": "1"}.items():
        monkeypatch.setenv(name, value)
    run = exptrack.init(backends="local")
    run.log({"val_acc": 0.9}, step=0)
    # the resumed sweep re-runs the trial as attempt 2 of the same run
    store.record_start(TrialRecord("t0001", run_id, {"lr": 0.01}, attempt=2))
    run.finish()
    assert exptrack.ExperimentTracker(root).get_run(run_id)["status"] == "running"
    count("records checked")
