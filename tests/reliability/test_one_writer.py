"""One writer per run: a second process (same ``EXPTRACK_RUN_ID``) or a second tracker object in
the same process is refused, naming the owner; the owner's records stay whole; a dead owner's claim
is taken over; a summary that disagrees with the history is rebuilt from it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import warnings

import pytest

from exptrack import ExperimentTracker
from exptrack_core.errors import ExptrackError
from exptrack_plugins.local.files import TornRecordWarning, write_json
from exptrack_plugins.local.tracker import LocalTracker

from .helpers import count, env_with

STEPS = 3000

WRITER = """
import sys, exptrack
with exptrack.init() as run:
    run.log({"v": 0.0}, step=0)
    print("logging", flush=True)
    sys.stdin.readline()
    for step in range(1, %d):
        run.log({"v": float(step)}, step=step)
""" % STEPS


def _history(tracker, run_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TornRecordWarning)  # a corrupt line fails the test
        return [(p["step"], p["value"]) for p in tracker.get_run(run_id)["metrics"].get("v", [])]


def test_a_second_process_on_the_same_run_is_refused_naming_the_owner(workdir):
    tracker = LocalTracker("experiments")
    run_id = tracker.create_run("shared", sweep_id="s1", trial_id="t0001")  # a sweep's trial
    env = env_with(EXPTRACK_RUN_ID=run_id, EXPTRACK_SWEEP_ID="s1", EXPTRACK_TRIAL_ID="t0001")
    first = subprocess.Popen([sys.executable, "-c", WRITER], cwd=workdir, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert first.stdout.readline() == "logging\n", first.stderr.read()
    second = subprocess.run([sys.executable, "-c", WRITER], cwd=workdir, env=env, text=True,
                            input="\n", capture_output=True, timeout=120)
    first.stdin.write("\n")
    first.stdin.flush()
    assert first.wait(120) == 0, first.stderr.read()
    count("faults")
    assert second.returncode != 0
    last = second.stderr.strip().splitlines()[-1]
    assert f"pid {first.pid} on host {socket.gethostname()}" in last
    run = LocalTracker("experiments").get_run(run_id)
    assert run["status"] == "completed" and run["owner"]["pid"] == first.pid
    values = _history(LocalTracker("experiments"), run_id)
    assert values == [(s, float(s)) for s in range(STEPS)]
    assert run["summary"]["v"]["count"] == STEPS and run["summary"]["v"]["min"] == 0.0
    count("records checked", STEPS)
    count("records lost", STEPS - len(values))


def test_two_tracker_objects_in_one_process_cannot_both_write_a_run(workdir):
    a, b = ExperimentTracker("experiments"), ExperimentTracker("experiments")
    run_id = a.create_run("shared")
    a.log_metrics(run_id, {"loss": 0.01}, step=0)
    with pytest.raises(ExptrackError, match=f"pid {os.getpid()} on host"):
        b.log_metrics(run_id, {"loss": 1.0}, step=1)
    count("bad inputs")
    a.finish_run(run_id)
    b.log_metrics(run_id, {"loss": 0.5}, step=1)  # the claim is free again once the first finished
    b.finish_run(run_id)
    summary = ExperimentTracker("experiments").get_run(run_id)["summary"]["loss"]
    assert (summary["min"], summary["max"], summary["count"]) == (0.01, 0.5, 2)


def test_a_dead_owners_claim_is_taken_over(workdir):
    tracker = LocalTracker("experiments")
    run_id = tracker.create_run("shared", sweep_id="s1", trial_id="t0001")  # a sweep's trial
    env = env_with(EXPTRACK_RUN_ID=run_id, EXPTRACK_SWEEP_ID="s1", EXPTRACK_TRIAL_ID="t0001")
    first = subprocess.Popen([sys.executable, "-c", WRITER], cwd=workdir, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert first.stdout.readline() == "logging\n", first.stderr.read()
    os.kill(first.pid, signal.SIGKILL)
    first.wait(60)
    count("faults")
    ExperimentTracker("experiments").log_metrics(run_id, {"v": 1.0}, step=1)
    assert _history(LocalTracker("experiments"), run_id) == [(0, 0.0), (1, 1.0)]


def test_a_summary_that_disagrees_with_the_history_is_rebuilt(workdir):
    t = ExperimentTracker("experiments")
    run_id = t.create_run("shared")
    for step, v in enumerate([0.01, 0.5, 1.0]):
        t.log_metrics(run_id, {"loss": v}, step=step)
    t.finish_run(run_id)
    run_dir = t.get_run(run_id)["run_dir"]
    size = os.path.getsize(os.path.join(run_dir, "metrics.csv"))
    for offset in (size + 100, size - 3):  # past the end, and mid-line
        write_json(__import__("pathlib").Path(run_dir, "summary.json"),
                   {"metrics": {"loss": {"last": 1.0, "step": 2, "min": 1.0, "max": 1.0,
                                         "count": 1}}, "history_bytes": offset})
        count("faults")
        s = ExperimentTracker("experiments").get_run(run_id)["summary"]["loss"]
        assert (s["min"], s["max"], s["count"]) == (0.01, 1.0, 3)
