"""A sweep's own metric and goal decide "best", and a sweep that cannot work fails fast (issue 10)."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

import exptrack

from .conftest import assert_one_line_error, run_cli
from .sweep_helpers import PARAMS, make_project

# val_acc is lowest at lr=0.1: on a minimize sweep that trial is the best one
MINIMIZE = PARAMS.replace("{name: val_acc, goal: maximize}", "{name: val_acc, goal: minimize}").replace(
    "    train.wd: {values: [0.0, 0.1]}\n", "")


def _only_sweep_id() -> str:
    [sweep] = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    return sweep["sweep_id"]


@pytest.fixture
def minimize_sweep(workdir):
    make_project(workdir, MINIMIZE)
    run_cli("sweep", "-S", "train.epochs=1", "--quiet", check=True)
    return _only_sweep_id()


def test_best_of_a_minimize_sweep_needs_no_metric_and_picks_the_lowest(minimize_sweep):
    best = yaml.safe_load(run_cli("best", "--sweep", minimize_sweep, check=True).stdout)
    assert best["metric"] == "val_acc" and best["mode"] == "min"
    assert best["params"]["train"]["lr"] == 0.1


def test_explicit_metric_and_mode_still_win_over_the_sweeps_goal(minimize_sweep):
    best = yaml.safe_load(run_cli("best", "--sweep", minimize_sweep, "--mode", "max",
                                  check=True).stdout)
    assert best["mode"] == "max" and best["params"]["train"]["lr"] == 0.01
    best = yaml.safe_load(run_cli("best", "--sweep", minimize_sweep, "--metric", "epoch",
                                  check=True).stdout)
    assert best["metric"] == "epoch"


def test_best_without_sweep_or_metric_is_one_line(minimize_sweep):
    assert_one_line_error(run_cli("best"), "--metric")


def test_compare_of_a_sweep_sorts_by_its_metric_in_its_goals_direction(minimize_sweep):
    rows = json.loads(run_cli("compare", "--sweep", minimize_sweep, "--format", "json",
                              check=True).stdout)
    assert [r["train.lr"] for r in rows] == [0.1, 0.001, 0.01]
    rows = json.loads(run_cli("compare", "--sweep", minimize_sweep, "--format", "json",
                              "--mode", "max", check=True).stdout)
    assert [r["train.lr"] for r in rows] == [0.01, 0.001, 0.1]


def test_a_program_sweep_prints_the_trials_own_command_not_dvc(workdir):
    make_project(workdir, MINIMIZE)
    proc = run_cli("sweep", "-S", "train.epochs=1", "--quiet", check=True)
    [line] = [l for l in proc.stdout.splitlines() if l.startswith("re-run it: ")]
    assert "dvc exp run" not in line
    argv = shlex.split(line[len("re-run it: "):])
    assert any(a.endswith("train.py") for a in argv)
    # the command really re-runs the best trial: same params, a new run
    import subprocess
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPTRACK_")}
    subprocess.run(argv, cwd=workdir, env=env, check=True, capture_output=True)
    runs = exptrack.ExperimentTracker().list_runs()
    rerun = [r for r in runs if not r.get("sweep_id")]
    assert len(rerun) == 1 and rerun[0]["params"]["train"]["lr"] == 0.1
    assert rerun[0]["params"]["train"]["epochs"] == 1
    best = yaml.safe_load(run_cli("best", "--sweep", _only_sweep_id(), check=True).stdout)
    assert best["rerun"] == line[len("re-run it: "):]


def test_a_pipeline_sweep_still_prints_dvc_exp_run(workdir):
    _pipeline_project(workdir, MINIMIZE)
    proc = run_cli("sweep", "-S", "train.epochs=1", "--quiet", check=True)
    assert "re-run it: dvc exp run -S train.lr=0.1 -S train.epochs=1" in proc.stdout


def test_a_metric_no_trial_logs_stops_the_sweep_after_the_first_trial(workdir):
    make_project(workdir, PARAMS.replace("name: val_acc,", "name: val_accc,"))
    proc = run_cli("sweep", "-S", "train.epochs=1", "--quiet")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [error] = [l for l in proc.stderr.splitlines() if "error" in l]
    assert "'val_accc'" in error and "val_acc, epoch" in error and "Traceback" not in proc.stderr
    assert len(exptrack.ExperimentTracker().list_runs("toy")) == 1  # not all six


def _pipeline_project(workdir, params: str = PARAMS):
    """The toy project laid out as the DVC pipeline: its program is stages/train.py."""
    make_project(workdir, params.replace("program: train.py", "program: stages/train.py"))
    (workdir / "stages").mkdir()
    (workdir / "train.py").rename(workdir / "stages" / "train.py")


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_a_swept_key_params_yaml_lacks_is_refused_before_anything_runs(workdir, dry_run):
    _pipeline_project(workdir, PARAMS.replace("train.lr: {values", "train.lrr: {values"))
    assert_one_line_error(run_cli("sweep", *dry_run), "'train.lrr'", "train.lr")
    assert not (workdir / "experiments").exists()


def test_a_program_that_is_not_the_pipeline_may_sweep_keys_params_yaml_lacks(workdir):
    make_project(workdir, PARAMS.replace("    train.wd: {values: [0.0, 0.1]}\n",
                                         "    extra.depth: {values: [1]}\n"))
    run_cli("sweep", "-S", "train.epochs=1", "--quiet", check=True)


def test_a_sweep_in_which_no_trial_completed_exits_non_zero(workdir):
    make_project(workdir, PARAMS.replace("crash: false", "crash: true"))
    proc = run_cli("sweep", "--trials", "1", "--quiet")
    assert "1 failed" in proc.stdout
    assert proc.returncode == 1
    [error] = [l for l in proc.stderr.splitlines() if "error" in l]
    assert "no trial completed" in error


def _real_pipeline(workdir):
    """A copy of the reference pipeline (stages/ and params.yaml), as a user's project holds it."""
    import shutil

    from .conftest import REPO

    shutil.copytree(REPO / "stages", workdir / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "params.yaml", workdir / "params.yaml")


@pytest.mark.parametrize("override,fragments", [
    ("train.momentum=abc", ["train.momentum", "'abc'"]),
    ("train.optimizer=adamm", ["train.optimizer", "'adamm'", "adamw"]),
    ("train.epochs=2.5", ["train.epochs", "2.5"]),
])
def test_params_the_pipeline_refuses_are_one_line_before_any_trial(workdir, override, fragments):
    _real_pipeline(workdir)
    assert_one_line_error(run_cli("sweep", "-S", override), *fragments)
    assert not (workdir / "experiments").exists()


def test_the_pipelines_check_accepts_its_own_params(workdir):
    _real_pipeline(workdir)
    proc = run_cli("sweep", "--dry-run", "-S", "train.epochs=1", check=True)
    assert "dry run: nothing was started" in proc.stdout
