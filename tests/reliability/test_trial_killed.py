"""A trial killed with SIGKILL mid-epoch inside a sweep: its steps stay readable, it is never shown
completed or running, and the sweep (live or resumed) runs its grid point again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import exptrack

from ..conftest import run_cli
from ..sweep_helpers import PARAMS, make_project
from .helpers import count, wait_until

SLOW_GRID = (PARAMS.replace("epochs: 3", "epochs: 12").replace("sleep: 0.0", "sleep: 0.1")
             .replace("train.lr: {values: [0.001, 0.01, 0.1]}", "train.lr: {values: [0.001, 0.01]}")
             .replace("train.wd: {values: [0.0, 0.1]}", "train.wd: {value: 0.0}"))
POINTS = {0.001, 0.01}


def _controller(workdir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet", *args],
                            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, trials included


def _trial_mid_epoch(workdir: Path, controller_pid: int, min_steps: int = 3):
    """The first trial run whose own process has logged ``min_steps`` epochs: (run dir, pid, steps)."""
    def probe():
        for meta_path in (workdir / "experiments" / "toy").glob("*/meta.json"):
            try:
                meta = json.loads(meta_path.read_text())
            except ValueError:
                continue
            owner = (meta.get("owner") or {}).get("pid")
            lines = (meta_path.parent / "metrics.csv").read_text().splitlines()
            steps = [l for l in lines[1:] if ",val_acc," in l]
            if meta["status"] == "running" and owner != controller_pid and len(steps) >= min_steps:
                return meta_path.parent, owner, len(steps)
        return None
    return wait_until(probe, timeout=60, what="a trial in the middle of its epochs")


def _readable_steps(run_id: str) -> list[int]:
    record = exptrack.ExperimentTracker().get_run(run_id)
    return [p["step"] for p in record["metrics"]["val_acc"]]


def _completed_points() -> Counter:
    return Counter(r["params"]["train"]["lr"] for r in exptrack.ExperimentTracker().list_runs("toy")
                   if r["status"] == "completed")


def test_a_trial_killed_mid_epoch_keeps_its_steps_and_the_live_sweep_reruns_it(workdir):
    make_project(workdir, SLOW_GRID)
    controller = _controller(workdir)
    run_dir, pid, seen = _trial_mid_epoch(workdir, controller.pid)
    os.kill(pid, signal.SIGKILL)
    count("faults")
    out, err = controller.communicate(timeout=120)
    assert controller.returncode == 0, err
    steps = _readable_steps(run_dir.name)
    assert steps == list(range(len(steps))) and len(steps) >= seen  # every step logged before the kill
    count("records checked", seen)
    count("records lost", max(0, seen - len(steps)))
    killed = exptrack.ExperimentTracker().get_run(run_dir.name)
    assert killed["status"] == "killed"
    points = _completed_points()
    assert set(points) == POINTS and all(n == 1 for n in points.values()), points


def test_a_sweep_killed_with_its_trial_shows_the_trial_crashed_and_the_resume_reruns_it(workdir):
    make_project(workdir, SLOW_GRID)
    controller = _controller(workdir)
    run_dir, pid, seen = _trial_mid_epoch(workdir, controller.pid)
    # the trial leads its own process group now: kill it and the controller at once, no one tidies up
    os.killpg(pid, signal.SIGKILL)
    os.killpg(controller.pid, signal.SIGKILL)
    controller.wait(30)
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=10, what="the trial to die")
    count("faults")
    listed = {r["run_id"]: r["status"] for r in json.loads(run_cli("runs", "--json",
                                                                   check=True).stdout)}
    assert listed[run_dir.name] == "crashed"  # neither completed nor forever running
    sweep_id = json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["sweep_id"]
    run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)
    steps = _readable_steps(run_dir.name)
    assert steps == list(range(len(steps))) and len(steps) >= seen
    count("records checked", seen)
    count("records lost", max(0, seen - len(steps)))
    # no one saw how it ended (its process was gone, no signal recorded): crashed, in both views
    assert exptrack.ExperimentTracker().get_run(run_dir.name)["status"] == "crashed"
    [row] = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    assert row["trials"] == {"completed": 2, "crashed": 1}
    points = _completed_points()
    assert set(points) == POINTS and all(n == 1 for n in points.values()), points


def test_a_sweep_killed_while_its_trial_lives_on_stops_it_on_resume_and_shows_it_killed(workdir):
    make_project(workdir, SLOW_GRID)
    controller = _controller(workdir)
    run_dir, pid, seen = _trial_mid_epoch(workdir, controller.pid)
    os.kill(controller.pid, signal.SIGKILL)  # the trial gets SIGTERM as its parent dies
    controller.wait(30)
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=10, what="the trial to stop")
    count("faults")
    sweep_id = json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["sweep_id"]
    run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)
    # it was ended by a signal, and said so: killed, not crashed
    assert exptrack.ExperimentTracker().get_run(run_dir.name)["status"] == "killed"
    [row] = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    assert row["trials"] == {"completed": 2, "killed": 1}
