"""``exptrack.ExperimentManager``: the analysis API of the grid-search guide (seed 000), run on a
real sweep's records with the guide's own code."""

from __future__ import annotations

import contextlib
import io
import math

import pytest

import exptrack

GRID = {"method": "grid", "metric": {"name": "val_acc", "goal": "maximize"},
        "parameters": {"learning_rate": {"values": [1e-4, 3e-4, 1e-3]},
                       "weight_decay": {"values": [0, 1e-4]}}}


def objective(params):
    """A training-shaped objective: 3 epochs of train/val curves; lr 1e-3 with no decay fails."""
    lr, wd = params["learning_rate"], params["weight_decay"]
    if lr == 1e-3 and wd == 0:
        raise RuntimeError("diverged")
    with exptrack.init(experiment="grid") as run:
        for epoch in range(3):
            run.log({"train_loss": 1 / (epoch + 1) + wd, "train_acc": 80 + epoch + lr * 1e3,
                     "val_loss": 1.2 / (epoch + 1), "val_acc": 70 + epoch + lr * 1e4 - wd * 1e4},
                    step=epoch)


@pytest.fixture
def sweep(workdir):
    return exptrack.sweep(objective, GRID)


# the guide's "Analyzing Results" and "Resuming Interrupted Sweeps" blocks, with its ids replaced
GUIDE = """
from exptrack import ExperimentManager

# Load manager
exp_manager = ExperimentManager()

# Get best experiment
best_exp, best_acc = exp_manager.get_best_experiment(
    metric='val_acc',
    mode='max'
)
print(f"Best: {best_exp} with {best_acc:.2f}% val acc")

# Load specific results
results = exp_manager.load_results('RUN_ID')
print(f"Val Acc: {results['val_acc']:.2f}%")
print(f"Config: {results['config']}")

# Summarize sweep
summary = exp_manager.summarize_sweep('SWEEP_ID')
print(f"Total experiments: {summary['total_experiments']}")

# Print top 5
for i, exp in enumerate(summary['experiments'][:5], 1):
    print(f"{i}. {exp['exp_id']}: {exp['results']['val_acc']:.2f}%")

completed = [e for e in summary['experiments'] if e['results'].get('status') == 'completed']
print(f"Completed: {len(completed)} / {summary['total_experiments']}")
failed_configs = [e['config'] for e in summary['experiments']
                  if e['results'].get('status') == 'failed']
print(f"Failed: {failed_configs}")
"""


def test_the_guides_analysis_code_runs_unchanged_on_a_sweeps_records(sweep):
    ranked = sweep.trials[sweep.trials["status"] == "completed"]
    second = ranked.iloc[1]["run_id"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(GUIDE.replace("RUN_ID", second).replace("SWEEP_ID", sweep.sweep_id), {})
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Best: {sweep.best_run_id} with {sweep.best_value:.2f}% val acc"
    assert lines[1] == f"Val Acc: {ranked.iloc[1]['val_acc']:.2f}%"
    assert lines[2] == "Config: {'learning_rate': 0.0003, 'weight_decay': 0}"
    assert lines[3] == "Total experiments: 6"
    top = [line.split(":")[0].split(". ")[1] for line in lines[4:9]]
    assert top == list(ranked["run_id"])  # the failed trial, with no value, ranks last
    assert lines[9] == "Completed: 5 / 6"
    assert lines[10] == "Failed: [{'learning_rate': 0.001, 'weight_decay': 0}]"


def test_load_results_has_the_shape_of_the_guides_summary_json(sweep):
    results = exptrack.ExperimentManager().load_results(sweep.best_run_id[:-1])  # a unique prefix will do
    assert {"exp_id", "config", "train_loss", "train_acc", "val_loss", "val_acc",
            "train_time_seconds", "history", "status"} <= set(results)
    assert results["exp_id"] == sweep.best_run_id and results["status"] == "completed"
    assert results["history"]["val_acc"] == [pytest.approx(results["val_acc"] - 2 + i)
                                             for i in range(3)]
    assert results["config"] == {"learning_rate": 0.001, "weight_decay": 0.0001}
    assert results["train_time_seconds"] >= 0


def test_best_and_sweep_summary_follow_the_metric_mode_and_the_sweeps_goal(sweep):
    manager = exptrack.ExperimentManager()
    exp_id, loss = manager.get_best_experiment(metric="train_loss", mode="min")
    assert loss == pytest.approx(1 / 3) and manager.load_results(exp_id)["config"]["weight_decay"] == 0
    summary = manager.summarize_sweep(sweep.sweep_id, metric="train_loss", mode="min")
    values = [e["results"].get("train_loss", math.nan) for e in summary["experiments"]]
    assert values[:5] == sorted(values[:5]) and summary["best_value"] == pytest.approx(loss)
    assert summary["metric"] == "train_loss" and summary["mode"] == "min"


def test_unknown_names_are_one_error_naming_what_exists(sweep):
    manager = exptrack.ExperimentManager()
    with pytest.raises(exptrack.UnknownNameError, match="val_acc"):
        manager.get_best_experiment(metric="val_accc")
    with pytest.raises(exptrack.UnknownNameError, match=sweep.sweep_id):
        manager.summarize_sweep("sweep_20251110_143022")
    with pytest.raises(exptrack.ExptrackError, match="'max' or 'min'"):
        manager.get_best_experiment(metric="val_acc", mode="maximize")
