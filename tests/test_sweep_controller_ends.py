"""A sweep controller that always ends: bounded re-runs, per-trial time limits, whole process
groups stopped, and a -S that cannot silently replace the searched values."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import exptrack

from .conftest import assert_one_line_error, run_cli
from .sweep_helpers import make_project

ONE_POINT = '''
train: {lr: 0.01}
sweep:
  name: toy
  method: grid
  metric: {name: val_acc, goal: maximize}
  program: train.py
  command: ["${interpreter}", "${program}"]
  parameters:
    train.lr: {values: [0.01]}
'''

EXITS_130 = "import sys\nsys.exit(130)\n"

# logs a value, then would run for a minute: only a time limit ends it
SLOW_LOGGER = '''
import time, exptrack
params = exptrack.load_params()
with exptrack.init(params=params) as run:
    run.log({"val_acc": 0.5}, step=0)
    time.sleep(60)
'''

# starts a grandchild (as a DataLoader worker would) and writes its pid where the test can see it
WITH_GRANDCHILD = '''
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open("grandchild.pid", "w").write(str(child.pid))
time.sleep(120)
'''


def _sweep(workdir: Path, *args: str, timeout: float = 40) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet", *args],
                          cwd=workdir, capture_output=True, text=True, timeout=timeout)


def _starts(workdir: Path) -> list[dict]:
    (journal,) = (workdir / "experiments" / "_sweeps").glob("*/trials.jsonl")
    return [e for e in map(json.loads, journal.read_text().splitlines()) if e["event"] == "start"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_program_that_always_exits_130_is_rerun_once_and_the_sweep_ends(workdir):
    make_project(workdir, ONE_POINT)
    (workdir / "train.py").write_text(EXITS_130)
    proc = _sweep(workdir)
    assert len(_starts(workdir)) == 2, proc.stderr  # the trial and its one re-run
    last = exptrack.ExperimentTracker().get_run(_starts(workdir)[-1]["run_id"])
    assert last["status"] == "failed" and "--max-retries 1" in last["note"]


def test_max_retries_zero_never_reruns_and_kills_count_toward_max_failures(workdir):
    make_project(workdir, ONE_POINT.replace("values: [0.01]", "values: [0.01, 0.02, 0.03]"))
    (workdir / "train.py").write_text(EXITS_130)
    proc = _sweep(workdir, "--max-retries", "0", "--max-failures", "2")
    assert proc.returncode == 1, proc.stderr
    assert len(_starts(workdir)) == 2  # two trials killed in a row stop the sweep
    assert "--max-failures 2" in proc.stderr


def test_a_fixed_value_on_a_searched_key_is_refused_before_anything_runs(workdir):
    make_project(workdir)
    assert_one_line_error(run_cli("sweep", "-S", "train.lr=0.02"), "train.lr", "-S")
    assert not (workdir / "experiments").exists()


def test_a_trial_past_its_time_limit_ends_timed_out_and_keeps_its_metrics(workdir):
    make_project(workdir, ONE_POINT)
    (workdir / "train.py").write_text(SLOW_LOGGER)
    proc = _sweep(workdir, "--trial-timeout", "3")
    assert proc.returncode == 1, proc.stderr  # it ended; no trial completed
    (run,) = exptrack.ExperimentTracker().list_runs("toy")
    assert run["status"] == "timed_out"
    assert run["summary"]["val_acc"]["last"] == 0.5
    assert len(_starts(workdir)) == 1  # a time limit is not a reason to run it again
    assert "timed_out" in proc.stdout


def test_trial_timeout_in_the_sweep_file_is_accepted(workdir):
    make_project(workdir, ONE_POINT.replace("  name: toy", "  name: toy\n  trial_timeout: 3"))
    (workdir / "train.py").write_text(SLOW_LOGGER)
    proc = _sweep(workdir)
    assert proc.returncode == 1, proc.stderr  # it ended; no trial completed
    assert [r["status"] for r in exptrack.ExperimentTracker().list_runs("toy")] == ["timed_out"]


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_trial_timeout_is_one_line(workdir, value):
    make_project(workdir, ONE_POINT)
    assert_one_line_error(run_cli("sweep", f"--trial-timeout={value}"), "--trial-timeout", value)
    assert not (workdir / "experiments").exists()


def test_terminate_kills_a_trial_that_ignores_sigterm_after_the_grace(tmp_path):
    from exptrack_core.sweep.launch import TrialLaunch
    from exptrack_plugins.executors.process import ProcessExecutor

    executor = ProcessExecutor({"workers": 1, "gpus": []})
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)"
    executor.launch(TrialLaunch("t0001", "r", {}, {}, tmp_path, argv=[sys.executable, "-c", stubborn]))
    time.sleep(0.5)
    begun = time.time()
    executor.terminate("t0001", grace=0.5)
    assert time.time() - begun < 0.4  # never blocks
    exits = []
    while not exits and time.time() - begun < 20:
        exits = executor.poll()
        time.sleep(0.05)
    assert [e.returncode for e in exits] == [-signal.SIGKILL]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopping_the_controller_stops_the_trials_grandchildren(workdir, sig):
    make_project(workdir, ONE_POINT)
    (workdir / "train.py").write_text(WITH_GRANDCHILD)
    controller = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet"],
                                  cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid_file = workdir / "grandchild.pid"
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    controller.send_signal(sig)
    controller.communicate(timeout=60)
    deadline = time.time() + 15
    while _alive(grandchild) and time.time() < deadline:
        time.sleep(0.05)
    alive = _alive(grandchild)
    if alive:
        os.kill(grandchild, signal.SIGKILL)
    assert not alive, "the trial's grandchild outlived the stopped sweep"
