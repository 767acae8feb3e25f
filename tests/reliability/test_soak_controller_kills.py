"""Soak: the sweep controller SIGKILLed at 20 random moments of a 16-point grid and resumed each
time. At the end every grid point has exactly one completed trial; no completed trial was lost
or run twice at any moment in between."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import exptrack

from ..conftest import run_cli
from ..sweep_helpers import PARAMS, make_project
from .helpers import count

# 16 points of about 1 s each: more than 20 kills at most 1.6 s apart can finish, on an idle
# machine too, so every kill lands on a running controller.
GRID = (PARAMS.replace("epochs: 3", "epochs: 4").replace("sleep: 0.0", "sleep: 0.2")
        .replace("train.lr: {values: [0.001, 0.01, 0.1]}",
                 "train.lr: {values: [0.001, 0.003, 0.01, 0.03]}")
        .replace("train.wd: {values: [0.0, 0.1]}", "train.wd: {values: [0.0, 0.05, 0.1, 0.2]}"))
POINTS = {(lr, wd) for lr in (0.001, 0.003, 0.01, 0.03) for wd in (0.0, 0.05, 0.1, 0.2)}
KILLS, SEED = 20, 20240607


def _journal(workdir: Path) -> dict[str, dict]:
    """trial id -> {point, status}, read from the sweep's journal as a resumed controller does."""
    trials: dict[str, dict] = {}
    for path in (workdir / "experiments" / "_sweeps").glob("*/trials.jsonl"):
        for raw in path.read_bytes().splitlines(keepends=True):
            try:
                ev = json.loads(raw)
            except ValueError:
                continue  # a line torn by a kill is no event
            if ev["event"] == "start":
                trials[ev["trial_id"]] = {"point": (ev["params"]["train.lr"], ev["params"]["train.wd"]),
                                          "run_id": ev["run_id"], "status": "running"}
            elif ev["trial_id"] in trials:
                trials[ev["trial_id"]]["status"] = ev["status"]
    return trials


def _completed_runs() -> dict[str, tuple]:
    return {r["run_id"]: (r["params"]["train"]["lr"], r["params"]["train"]["wd"])
            for r in exptrack.ExperimentTracker().list_runs("toy") if r["status"] == "completed"}


@pytest.mark.slow
def test_twenty_controller_kills_lose_nothing_and_run_nothing_twice(workdir):
    make_project(workdir, GRID)
    rng = random.Random(SEED)
    sweep_id = None
    ever_completed: dict[str, tuple] = {}
    kills = 0
    for _ in range(KILLS):
        args = ["--resume", sweep_id] if sweep_id else []
        controller = subprocess.Popen(
            [sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet", *args], cwd=workdir,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        if sweep_id is None:  # the first kill lands once the sweep exists, however loaded the machine
            sweeps = workdir / "experiments" / "_sweeps"
            deadline = time.time() + 60
            while controller.poll() is None and time.time() < deadline and not (
                    sweeps.is_dir() and any(sweeps.iterdir())):
                time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 1.6))
        if controller.poll() is None:
            # half the time the trials die with it (a machine-level kill), half they are orphaned
            if rng.random() < 0.5:
                os.killpg(controller.pid, signal.SIGKILL)
            else:
                controller.kill()
            kills += 1
        controller.communicate(timeout=60)
        if sweep_id is None:
            sweep_id = next((workdir / "experiments" / "_sweeps").iterdir()).name
        completed = _completed_runs()
        lost = [r for r in ever_completed if r not in completed]
        count("records lost", len(lost))
        assert not lost, f"completed runs lost after a kill: {lost}"
        twice = [p for p, n in Counter(completed.values()).items() if n > 1]
        assert not twice, f"grid points completed twice: {twice}"
        ever_completed.update(completed)
    count("faults", kills)
    assert kills >= KILLS - 2, f"only {kills} kills landed while the controller ran"
    final = run_cli("sweep", "--resume", sweep_id, "--quiet")
    assert final.returncode == 0, final.stderr
    completed = _completed_runs()
    assert set(ever_completed) <= set(completed)
    assert Counter(completed.values()) == Counter({p: 1 for p in POINTS})
    journal = _journal(workdir)
    journaled = Counter(t["point"] for t in journal.values() if t["status"] == "completed")
    assert journaled == Counter({p: 1 for p in POINTS})
    assert {t["run_id"] for t in journal.values() if t["status"] == "completed"} == set(completed)
    assert all(t["status"] != "running" for t in journal.values())
    assert any(t["status"] in ("killed", "crashed") for t in journal.values())  # kills landed mid-trial
    count("records checked", len(POINTS))
    sweeps = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    assert sweeps[0]["status"] == "completed" and sweeps[0]["trials"]["completed"] == len(POINTS)
