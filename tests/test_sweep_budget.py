"""`exptrack sweep --time-budget`: no new trial after the budget, running ones finish, --resume extends."""

from __future__ import annotations

import json

import pytest

import exptrack
from exptrack_core.sweep.journal import SweepStore
from exptrack_core.sweep.keys import time_budget

from .conftest import assert_one_line_error, run_cli
from .sweep_helpers import PARAMS, make_project

SLOW = PARAMS.replace("sleep: 0.0", "sleep: 0.4")  # 3 epochs: about 1.2 s a trial


@pytest.fixture
def project(workdir):
    return make_project(workdir, SLOW)


def _sweeps():
    return json.loads(run_cli("sweeps", "--json", check=True).stdout)


def test_no_trial_starts_after_the_budget_and_the_running_ones_finish(project):
    proc = run_cli("sweep", "--time-budget", "1s", "--workers", "2", "--quiet")
    assert proc.returncode == 0, proc.stderr
    sweep = _sweeps()[0]
    assert sweep["status"] == "budget_reached"
    assert "budget reached" in run_cli("sweeps", check=True).stdout
    assert "time budget of 1s reached" in proc.stdout and "--time-budget 1h" in proc.stdout
    store = SweepStore(project / "experiments", sweep["sweep_id"])
    deadline = store.meta()["settings"]["deadline"]
    trials = list(store.trials().values())
    assert 2 <= len(trials) < 6
    assert all(t.started_at < deadline for t in trials)  # nothing started after it
    assert all(t.status == "completed" for t in trials)  # those running were let finish
    assert any(t.ended_at > deadline for t in trials)


def test_resume_with_a_new_budget_extends_the_sweep_to_its_end(project):
    run_cli("sweep", "--time-budget", "1", "--quiet", check=True)
    sweep_id = _sweeps()[0]["sweep_id"]
    first = _sweeps()[0]["trials"]["completed"]
    again = run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)  # the same deadline: spent
    assert "budget reached" in again.stdout and _sweeps()[0]["trials"]["completed"] == first
    run_cli("sweep", "--resume", sweep_id, "--time-budget", "1h", "--quiet", check=True)
    sweep = _sweeps()[0]
    assert sweep["status"] == "completed" and sweep["trials"] == {"completed": 6}
    assert len(exptrack.ExperimentTracker().list_runs("toy")) == 6


def test_the_budget_from_the_sweep_file_and_a_trial_timeout_together(project):
    make_project(project, SLOW.replace("sleep: 0.4", "sleep: 2").replace(
        "  method: grid", "  method: grid\n  time_budget: 1"))
    proc = run_cli("sweep", "--trial-timeout", "1.5", "--quiet")
    sweep = _sweeps()[0]
    assert sweep["status"] == "budget_reached" and sweep["trials"] == {"timed_out": 1}, proc.stdout


@pytest.mark.parametrize("text, seconds", [("2h", 7200), ("30m", 1800), ("90s", 90), ("45", 45),
                                           ("1.5h", 5400), (120, 120)])
def test_budgets_are_read_in_hours_minutes_or_seconds(text, seconds):
    assert time_budget(text, "--time-budget") == seconds


@pytest.mark.parametrize("bad", ["2x", "0", "-5m", "h", "soon"])
def test_a_bad_budget_is_a_one_line_error_and_nothing_is_written(project, bad):
    assert_one_line_error(run_cli("sweep", f"--time-budget={bad}"), "--time-budget", repr(bad))
    assert not (project / "experiments").exists()


def test_a_bad_budget_in_the_sweep_file_names_the_key(project):
    make_project(project, SLOW.replace("  method: grid", "  method: grid\n  time_budget: soon"))
    assert_one_line_error(run_cli("sweep"), "sweep.time_budget", "'soon'")
    assert not (project / "experiments").exists()


def test_a_budget_that_ran_out_with_no_trial_completed_exits_1(project):
    """Scripts must see that the sweep found nothing, whether it ran out of points or of time."""
    (project / "train.py").write_text("import sys, time\ntime.sleep(0.4)\nsys.exit(3)\n")
    proc = run_cli("sweep", "--time-budget", "1s", "--max-failures", "100", "--quiet")
    assert _sweeps()[0]["status"] == "budget_reached"
    assert proc.returncode == 1 and "no trial completed" in proc.stderr, (proc.stdout, proc.stderr)


KILLED_PAST_THE_BUDGET = '''
import os, signal, time, exptrack
with exptrack.init(params=exptrack.load_params()) as run:
    run.log({"val_acc": 0.5}, step=0)
    time.sleep(1.5)
    os.kill(os.getpid(), signal.SIGKILL)  # dies of a signal, as a lost node's trial would
'''


def test_a_trial_killed_after_the_budget_is_not_run_again(project):
    (project / "train.py").write_text(KILLED_PAST_THE_BUDGET)
    proc = run_cli("sweep", "--time-budget", "1s", "--max-retries", "2", "--quiet")
    sweep = _sweeps()[0]
    assert sweep["status"] == "budget_reached", proc.stdout + proc.stderr
    store = SweepStore(project / "experiments", sweep["sweep_id"])
    deadline = store.meta()["settings"]["deadline"]
    trials = list(store.trials().values())
    assert [t.status for t in trials] == ["killed"]  # its re-run would have started past the budget
    assert all(t.started_at < deadline for t in trials)
