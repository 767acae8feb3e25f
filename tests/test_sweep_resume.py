"""Stopping a sweep (Ctrl+C, SIGKILL) and resuming it: nothing lost, nothing run twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import exptrack

from .conftest import assert_one_line_error, run_cli
from .sweep_helpers import PARAMS, make_project

SLOW = PARAMS.replace("sleep: 0.0", "sleep: 0.25")


def _start(workdir, *args):
    return subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet", *args],
                            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _journal(workdir):
    files = list((workdir / "experiments" / "_sweeps").glob("*/trials.jsonl"))
    if not files:
        return None, []
    lines = [json.loads(l) for l in files[0].read_text().splitlines() if l.endswith("}")]
    return files[0].parent.name, lines


def _wait_for(workdir, ends: int, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        sweep_id, events = _journal(workdir)
        if sum(e["event"] == "end" for e in events) >= ends and any(
                e["event"] in ("start", "launch") for e in events[-1:]):  # a trial in flight
            return sweep_id
        time.sleep(0.05)
    raise AssertionError(f"sweep did not reach {ends} ended trials")


def _completed_points(workdir):
    runs = exptrack.ExperimentTracker().list_runs("toy")
    return Counter((r["params"]["train"]["lr"], r["params"]["train"]["wd"])
                   for r in runs if r["status"] == "completed"), runs


def test_resume_after_sigkill_reruns_only_what_was_in_flight(workdir):
    make_project(workdir, SLOW)
    proc = _start(workdir)
    sweep_id = _wait_for(workdir, ends=2)
    proc.kill()
    proc.wait()
    done_before, _ = _completed_points(workdir)
    time.sleep(0.5)  # the in-flight trial gets SIGTERM from its dying parent
    assert json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["status"] == "stopped"
    run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)
    points, runs = _completed_points(workdir)
    assert set(points) == {(lr, wd) for lr in (0.001, 0.01, 0.1) for wd in (0.0, 0.1)}
    assert all(n == 1 for n in points.values()), points  # no grid point completed twice
    assert len(done_before) >= 2
    statuses = Counter(r["status"] for r in runs)
    assert statuses["completed"] == 6 and set(statuses) <= {"completed", "killed", "crashed"}
    assert json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["status"] == "completed"


def test_ctrl_c_marks_running_trials_killed_and_the_sweep_interrupted(workdir):
    make_project(workdir, SLOW)
    proc = _start(workdir)
    sweep_id = _wait_for(workdir, ends=1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"resume with: exptrack sweep --resume {sweep_id}" in out
    sweeps = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    assert sweeps[0]["status"] == "interrupted" and sweeps[0]["trials"].get("killed") == 1
    killed = [r for r in exptrack.ExperimentTracker().list_runs("toy") if r["status"] == "killed"]
    assert len(killed) == 1
    run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)
    points, _ = _completed_points(workdir)
    assert len(points) == 6 and all(n == 1 for n in points.values())


def test_a_second_controller_on_the_same_sweep_is_refused_naming_the_first(workdir):
    make_project(workdir, SLOW)
    proc = _start(workdir)
    try:
        sweep_id = _wait_for(workdir, ends=0)
        second = run_cli("sweep", "--resume", sweep_id)
        assert_one_line_error(second, f"sweep {sweep_id} is already being run by pid {proc.pid}")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_random_search_resumes_with_the_same_run_cap_counting_what_ran(workdir):
    params = SLOW.replace("method: grid", "method: random\n  run_cap: 4").replace(
        "train.lr: {values: [0.001, 0.01, 0.1]}", "train.lr: {min: 0.001, max: 0.1}")
    make_project(workdir, params)
    proc = _start(workdir, "--seed", "3")
    sweep_id = _wait_for(workdir, ends=2)
    proc.kill()
    proc.wait()
    run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)
    runs = exptrack.ExperimentTracker().list_runs("toy")
    assert sum(r["status"] == "completed" for r in runs) == 4


def test_ctrl_c_just_after_a_trial_is_journaled_still_ends_it_killed(tmp_path):
    """The race behind a Ctrl+C that left a trial in flight: the interrupt landed between the
    trial's journal event and the controller's own note of it, so nothing ended it."""
    from exptrack_core.sweep.config import SweepConfig
    from exptrack_core.sweep.controller import SweepRunner
    from exptrack_core.sweep.journal import SweepStore

    class CtrlCAfterSecondStart(SweepStore):
        def record_start(self, trial):
            super().record_start(trial)
            if trial.trial_id == "t0002":
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C, right after the event is written

    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"x": {"values": [1, 2, 3]}}}
    store = CtrlCAfterSecondStart.create(tmp_path / "experiments", name="s", experiment="e",
                                         config=config)
    outcome = SweepRunner(SweepConfig.parse(config), store, executor="inline",
                          objective=lambda params: params["x"]).run()
    assert outcome.status == "interrupted"
    assert {t.trial_id: t.status for t in SweepStore(store.root, store.id).trials().values()} == \
        {"t0001": "completed", "t0002": "killed"}
