"""An unchanged W&B training script runs as a sweep trial, offline, and exptrack sees its history."""

from __future__ import annotations

import json

import pytest

import exptrack
from exptrack_plugins.wandb.records import find_run_files, read_run

from .conftest import run_cli

pytest.importorskip("wandb")

SCRIPT = '''
import time, wandb
wandb.init(project="demo")
cfg = wandb.config
for epoch in range(cfg.epochs):
    time.sleep(cfg.get("sleep", 0))
    acc = 1 - abs(cfg.lr - 0.01) * 10 + epoch * 0.01
    wandb.log({"val_acc": acc, "loss": 1 - acc}, step=epoch)
wandb.run.summary["test_acc"] = acc - 0.01
wandb.finish()
'''

SWEEP = '''
program: train_wandb.py
method: grid
entity: someone
project: demo
metric: {name: val_acc, goal: maximize}
parameters:
  lr: {values: [0.001, 0.01, 0.1]}
  epochs: {value: 3}
'''


@pytest.fixture
def wandb_project(workdir):
    (workdir / "train_wandb.py").write_text(SCRIPT)
    (workdir / "sweep.yaml").write_text(SWEEP)
    return workdir


def test_a_wandb_script_gets_its_params_through_wandb_config_and_its_history_is_tracked(wandb_project):
    proc = run_cli("sweep", "--config", "sweep.yaml", "--quiet", check=True)
    assert "ignoring 'entity'" in proc.stderr and "3 completed" in proc.stdout
    runs = {r["params"]["lr"]: r for r in exptrack.ExperimentTracker().list_runs()}
    assert set(runs) == {0.001, 0.01, 0.1}
    best = runs[0.01]
    assert best["summary"]["val_acc"]["count"] == 3 and best["summary"]["val_acc"]["last"] == pytest.approx(1.02)
    assert best["summary"]["test_acc"]["last"] == pytest.approx(1.01)  # summary-only value
    # the W&B run itself: offline, in the trial's directory, config from the sweep, syncable
    [wandb_file] = find_run_files(best["run_dir"])
    assert "offline-run-" in str(wandb_file)
    w = read_run(wandb_file)
    assert w.config["lr"] == 0.01 and w.config["epochs"] == 3
    assert [row["val_acc"] for row in w.history] == pytest.approx([1.0, 1.01, 1.02])
    sweep = json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]
    assert w.run["sweep_id"] == sweep["sweep_id"]
    out = run_cli("best", "--sweep", sweep["sweep_id"], "--metric", "val_acc", check=True).stdout
    assert "lr: 0.01" in out


def test_the_sweeps_stopper_prunes_a_wandb_script_from_outside(wandb_project):
    (wandb_project / "sweep.yaml").write_text(SWEEP.replace("epochs: {value: 3}",
                                                            "epochs: {value: 8}\n  sleep: {value: 0.3}")
                                              + "early_terminate: {type: hyperband, min_iter: 1, eta: 2}\n")
    run_cli("sweep", "--config", "sweep.yaml", "--quiet", check=True)
    runs = exptrack.ExperimentTracker().list_runs()
    pruned = [r for r in runs if r["status"] == "pruned"]
    assert pruned, [r["status"] for r in runs]
    assert all(r["summary"]["val_acc"]["count"] < 8 for r in pruned)


def test_a_sweep_with_backend_wandb_groups_its_trials_by_sweep(workdir):
    from .sweep_helpers import make_project

    make_project(workdir)
    run_cli("sweep", "--backend", "local,wandb", "--trials", "2", "--workers", "2", "--quiet",
            check=True)
    sweep_id = json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["sweep_id"]
    runs = exptrack.ExperimentTracker().list_runs("toy")
    assert len(runs) == 2
    for run in runs:
        [wandb_file] = find_run_files(run["run_dir"])
        w = read_run(wandb_file)
        assert w.run["group"] == sweep_id and w.run["name"] == run["run_id"]
        assert w.config["train"]["lr"] == run["params"]["train"]["lr"]
        assert [row["val_acc"] for row in w.history] == pytest.approx(
            [p["value"] for p in exptrack.ExperimentTracker().get_run(run["run_id"])["metrics"]["val_acc"]])
        assert run["summary"]["val_acc"]["count"] == 3  # logged once, not also followed


BOTH = '''
import exptrack
with exptrack.init(params=exptrack.load_params(), backends="local,wandb") as run:
    for step in range(3):
        run.log({"val_acc": 0.5 + step / 10}, step=step)
'''


def test_a_trial_that_logs_to_exptrack_and_to_wandb_is_not_followed_twice(workdir):
    """The W&B trial adapter sees the program joined its run (any tracker says so through
    ``get_run``'s context), so the history is the program's own, once."""
    (workdir / "both.py").write_text(BOTH)
    (workdir / "sweep.yaml").write_text(
        "program: both.py\nmethod: grid\nmetric: {name: val_acc}\n"
        "parameters:\n  lr: {values: [0.1]}\n")
    run_cli("sweep", "--config", "sweep.yaml", "--quiet", check=True)
    [run] = exptrack.ExperimentTracker().list_runs()
    assert find_run_files(run["run_dir"])  # W&B wrote its offline record in the trial's directory
    history = exptrack.ExperimentTracker().get_run(run["run_id"])["metrics"]["val_acc"]
    assert [(p["step"], p["value"]) for p in history] == [(0, 0.5), (1, 0.6), (2, 0.7)]
