"""Sweeps from Python: exptrack.sweep(...) and the classic grid_search(...)."""

from __future__ import annotations

import pytest

import exptrack

from .sweep_helpers import make_project


def test_sweep_with_an_objective_returns_the_best_params_and_the_trials(workdir):
    def objective(params):
        with exptrack.init(experiment="quad") as run:
            for step in range(3):
                run.log({"loss": (params["x"] - 2) ** 2 + 1 / (step + 1)}, step=step)

    result = exptrack.sweep(objective, {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
                                        "parameters": {"x": {"values": [0, 1, 2, 3]}}})
    assert result.best_params == {"x": 2} and result.best_value == pytest.approx(1 / 3)
    assert list(result.trials["x"]) == [2, 1, 3, 0]  # best first
    assert exptrack.ExperimentTracker().get_run(result.best_run_id)["params"] == {"x": 2}


def test_an_objective_may_just_return_its_value(workdir):
    result = exptrack.sweep(lambda p: -abs(p["a"] - 3),
                            {"method": "random", "run_cap": 5, "metric": {"name": "score", "goal": "maximize"},
                             "parameters": {"a": {"values": [1, 2, 3, 4]}}}, seed=1)
    assert len(result.trials) == 5 and result.best_value <= 0


def test_a_failing_objective_is_recorded_as_failed_and_the_sweep_goes_on(workdir):
    def objective(params):
        if params["a"] == 2:
            raise ValueError("diverged")
        return params["a"]

    result = exptrack.sweep(objective, {"method": "grid", "metric": {"name": "v", "goal": "maximize"},
                                        "parameters": {"a": {"values": [1, 2, 3]}}})
    statuses = dict(zip(result.trials["a"], result.trials["status"]))
    assert statuses == {1: "completed", 2: "failed", 3: "completed"} and result.best_value == 3
    failed = exptrack.ExperimentTracker().get_run(result.trials.set_index("a").loc[2, "run_id"])
    assert "diverged" in failed["note"]


def test_grid_search_runs_every_combination_and_summarises_best_first(workdir):
    make_project(workdir)
    summary = exptrack.grid_search(param_grid={"learning_rate": [0.001, 0.01], "wd": [0.0, 0.1]},
                                   num_epochs=2, sweep_name="my_first_sweep", program="train.py")
    assert summary["total_experiments"] == 4
    assert summary["best_val_acc"] == pytest.approx(1.01)
    assert summary["experiments"][0]["exp_id"] == summary["best_exp_id"]
    assert summary["experiments"][0]["params"] == {"train.lr": 0.01, "train.wd": 0.0}
    accs = [e["val_acc"] for e in summary["experiments"]]
    assert accs == sorted(accs, reverse=True)
    run = exptrack.ExperimentTracker().get_run(summary["best_exp_id"])
    assert run["experiment_name"] == "my_first_sweep" and run["params"]["train"]["epochs"] == 2


def test_grid_search_names_an_unknown_parameter(workdir):
    make_project(workdir)
    with pytest.raises(exptrack.ExptrackError, match="unknown parameter 'momentum'"):
        exptrack.grid_search({"momentum": [0.9]}, program="train.py")
