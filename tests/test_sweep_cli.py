"""`exptrack sweep` end to end: real trial processes, real records."""

from __future__ import annotations

import json

import pytest
import yaml

import exptrack

from .conftest import assert_one_line_error, run_cli
from .sweep_helpers import PARAMS, make_project


@pytest.fixture
def project(workdir):
    return make_project(workdir)


def _sweep_id(proc):
    return json.loads(run_cli("sweeps", "--json", check=True).stdout)[-1]["sweep_id"]


def test_a_grid_sweep_runs_every_point_once_and_prints_the_best(project):
    proc = run_cli("sweep", "--workers", "2", check=True)
    assert "6 completed" in proc.stdout
    assert "best: trial" in proc.stdout and "lr: 0.01" in proc.stdout
    runs = exptrack.ExperimentTracker().list_runs("toy")
    points = sorted((r["params"]["train"]["lr"], r["params"]["train"]["wd"]) for r in runs)
    assert points == sorted((lr, wd) for lr in (0.001, 0.01, 0.1) for wd in (0.0, 0.1))
    assert all(r["status"] == "completed" for r in runs)
    # the trial program saw the whole params.yaml with its trial's values applied
    assert all(r["params"]["train"]["epochs"] == 3 for r in runs)
    sweeps = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    assert sweeps[0]["status"] == "completed" and sweeps[0]["trials"] == {"completed": 6}
    assert sweeps[0]["best"] == pytest.approx(1.02)
    best = yaml.safe_load(run_cli("best", "--sweep", sweeps[0]["sweep_id"], "--metric", "val_acc",
                                  check=True).stdout)
    assert best["params"]["train"]["lr"] == 0.01 and best["params"]["train"]["wd"] == 0.0


def test_dry_run_validates_and_shows_trials_without_running_anything(workdir):
    make_project(workdir)
    (workdir / "train.py").unlink()  # the program need not exist
    proc = run_cli("sweep", "--dry-run", check=True)
    assert "grid of 6 points" in proc.stdout and "t0001  train.lr=0.001  train.wd=0" in proc.stdout
    assert not (workdir / "experiments").exists()


def test_fixed_overrides_apply_to_every_trial_and_are_checked(project):
    run_cli("sweep", "-S", "train.epochs=1", "--trials", "2", "--quiet", check=True)
    runs = exptrack.ExperimentTracker().list_runs("toy")
    assert len(runs) == 2 and all(r["summary"]["epoch"]["count"] == 1 for r in runs)
    assert_one_line_error(run_cli("sweep", "-S", "train.epoch=1"), "'train.epoch'", "train.epochs")


def test_hyperband_prunes_bad_trials_in_other_processes(project):
    params = PARAMS.replace("epochs: 3", "epochs: 6").replace(
        "  parameters:", "  early_terminate: {type: hyperband, min_iter: 1, eta: 2}\n  parameters:")
    make_project(project, params)
    run_cli("sweep", "--quiet", check=True)
    statuses = [r["status"] for r in exptrack.ExperimentTracker().list_runs("toy")]
    assert "pruned" in statuses and "completed" in statuses
    pruned = [r for r in exptrack.ExperimentTracker().list_runs("toy") if r["status"] == "pruned"]
    assert all(r["summary"]["val_acc"]["count"] < 6 for r in pruned)  # stopped early, metrics kept


def test_a_crashing_trial_is_failed_with_its_stderr_and_max_failures_stops_the_sweep(project):
    params = PARAMS.replace("crash: false", "crash: true")
    make_project(project, params)
    proc = run_cli("sweep", "--max-failures", "2", "--quiet")
    assert proc.returncode == 1
    assert "2 trials failed in a row" in proc.stderr
    runs = exptrack.ExperimentTracker().list_runs("toy")
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert "boom: this config cannot train" in runs[0]["note"]


def test_target_ends_the_sweep_early(project):
    params = PARAMS.replace("{name: val_acc, goal: maximize}",
                            "{name: val_acc, goal: maximize, target: 0.9}")
    make_project(project, params)
    proc = run_cli("sweep", "--quiet", check=True)
    assert "target val_acc=0.9 reached" in proc.stdout
    assert len(exptrack.ExperimentTracker().list_runs("toy")) < 6


def test_promote_reruns_the_best_configs_at_full_budget(project):
    run_cli("sweep", "-S", "train.epochs=1", "--quiet", check=True)
    sweep_id = json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["sweep_id"]
    run_cli("promote", sweep_id, "--top", "2", "-S", "train.epochs=4", "--quiet", check=True)
    sweeps = json.loads(run_cli("sweeps", "--json", check=True).stdout)
    promoted = [s for s in sweeps if s["sweep_id"] != sweep_id][0]
    runs = [r for r in exptrack.ExperimentTracker().list_runs() if r["sweep_id"] == promoted["sweep_id"]]
    assert sorted((r["params"]["train"]["lr"], r["params"]["train"]["wd"]) for r in runs) == [
        (0.001, 0.0), (0.01, 0.0)]
    assert all(r["summary"]["epoch"]["count"] == 4 for r in runs)


@pytest.mark.parametrize("args,fragments", [
    (["sweep", "--method", "annealing"], ["annealing", "grid"]),
    (["sweep", "--backend", "mlflw"], ["unknown backend 'mlflw'"]),
    (["sweep", "--executor", "slurm"], ["unknown executor 'slurm'", "local"]),
    (["sweep", "--resume", "nope"], ["unknown sweep 'nope'"]),
    (["sweep", "--config", "missing.yaml"], ["missing.yaml"]),
    (["sweep", "--trials", "0"], ["--trials"]),
])
def test_bad_sweep_input_is_one_line_and_starts_nothing(project, args, fragments):
    assert_one_line_error(run_cli(*args), *fragments)
    assert not (project / "experiments").exists()


def test_each_parallel_worker_gets_its_own_gpu(workdir):
    (workdir / "gpu.py").write_text(
        "import os, time, exptrack\n"
        "with exptrack.init() as run:\n"
        "    run.log({'gpu': int(os.environ['CUDA_VISIBLE_DEVICES'])}, step=0)\n"
        "    time.sleep(1.0)\n"
        "    run.log({'score': 1.0})\n")
    (workdir / "sweep.yaml").write_text(
        "method: grid\nprogram: gpu.py\nmetric: {name: score, goal: maximize}\n"
        "parameters:\n  x: {values: [1, 2, 3, 4]}\n")
    run_cli("sweep", "--config", "sweep.yaml", "--workers", "2", "--quiet",
            env={"CUDA_VISIBLE_DEVICES": "3,5"}, check=True)
    runs = exptrack.ExperimentTracker().list_runs()
    gpus = [r["summary"]["gpu"]["last"] for r in runs]
    assert sorted(gpus) == [3, 3, 5, 5]  # two workers, one GPU each, never both on one


def test_a_trial_records_its_own_command_and_context(project):
    run_cli("sweep", "--trials", "1", "--quiet", check=True)
    [run] = exptrack.ExperimentTracker().list_runs("toy")
    ctx = exptrack.ExperimentTracker().get_run(run["run_id"])["context"]
    assert any("train.py" in part for part in ctx["command"])
    assert ctx["env"]["EXPTRACK_SWEEP_ID"] == run["sweep_id"]
