"""Multi-objective sweeps: `metric:` a list; every objective recorded; the Pareto front as Optuna's."""

from __future__ import annotations

import json
import warnings

import optuna
import pytest
import yaml

import exptrack
from exptrack_core.plugin.interfaces import TrialView
from exptrack_core.sweep.config import SweepConfig
from exptrack_plugins.search.bayes import BayesSearch

from .conftest import assert_one_line_error, run_cli

# accuracy rises with x; so does the time it costs (x**2), plus y for nothing: a real trade-off
TRAIN = '''
import exptrack
params = exptrack.load_params()
t = params["train"]
with exptrack.init(params=params) as run:
    for epoch in range(t["epochs"]):
        run.log({"val_acc": t["x"] * (epoch + 1) / t["epochs"], "time_s": t["x"] ** 2 + t["y"]},
                step=epoch)
        if run.should_stop():
            break
'''

SWEEP = '''
name: trade-off
method: {method}
metric:
  - {{name: val_acc, goal: maximize}}
  - {{name: time_s, goal: minimize}}
program: train.py
command: ["${{interpreter}}", "${{program}}"]
parameters:
{parameters}
'''
CONTINUOUS = "  train.x: {min: 0.0, max: 1.0}\n  train.y: {min: 0.0, max: 0.5}"
GRID = ("  train.x: {values: [0.2, 0.5, 0.8]}\n  train.y: {values: [0.0, 0.3]}\n"
        "  train.z: {values: [1, 2]}")  # z changes nothing: each result twice


@pytest.fixture
def project(workdir):
    (workdir / "train.py").write_text(TRAIN)
    (workdir / "params.yaml").write_text("train: {x: 0.5, y: 0.0, epochs: 2}\n")
    return workdir


def _write(project, method="random", parameters=CONTINUOUS, extra=""):
    (project / "multi.yaml").write_text(SWEEP.format(method=method, parameters=parameters) + extra)
    return "multi.yaml"


def _sweep_id():
    return json.loads(run_cli("sweeps", "--json", check=True).stdout)[-1]["sweep_id"]


def _optuna_front(runs):
    """The same values in an Optuna study with the same directions: its study.best_trials."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    for r in runs:
        if r["status"] == "completed":
            study.add_trial(optuna.trial.create_trial(
                values=[r["summary"]["val_acc"]["last"], r["summary"]["time_s"]["last"]],
                user_attrs={"run_id": r["run_id"]}))
    return {t.user_attrs["run_id"] for t in study.best_trials}


def test_best_prints_the_pareto_front_that_optuna_finds_on_the_same_values(project):
    run_cli("sweep", "--config", _write(project), "--trials", "12", "--seed", "3", "--quiet",
            check=True)
    sweep_id = _sweep_id()
    runs = exptrack.ExperimentTracker().list_runs("trade-off")
    best = json.loads(run_cli("best", "--sweep", sweep_id, "--format", "json", check=True).stdout)
    front = {e["run_id"] for e in best["pareto_front"]}
    assert front == _optuna_front(runs) and 1 < len(front) < 12
    assert best["objectives"] == [{"name": "val_acc", "goal": "maximize"},
                                  {"name": "time_s", "goal": "minimize"}]
    entry = best["pareto_front"][0]
    run = next(r for r in runs if r["run_id"] == entry["run_id"])
    assert entry["values"] == {"val_acc": run["summary"]["val_acc"]["last"],
                               "time_s": run["summary"]["time_s"]["last"]}
    rows = json.loads(run_cli("compare", "--sweep", sweep_id, "--format", "json",
                              check=True).stdout)
    assert {r["run_id"] for r in rows if r["pareto"] == "*"} == front


def test_a_grid_records_every_objective_and_equal_results_share_the_front(project):
    proc = run_cli("sweep", "--config", _write(project, "grid", GRID), "--quiet", check=True)
    header = next(line for line in proc.stdout.splitlines() if line.startswith("trial"))
    assert "val_acc" in header and "time_s" in header and "pareto" in header
    runs = exptrack.ExperimentTracker().list_runs("trade-off")
    assert all({"val_acc", "time_s"} <= set(r["summary"]) for r in runs)
    best = yaml.safe_load(run_cli("best", "--sweep", _sweep_id(), check=True).stdout)
    front = {e["run_id"] for e in best["pareto_front"]}
    # y=0 twice at each x (z=1, z=2): both copies are on the front, as in Optuna; y=0.3 is not
    assert front == _optuna_front(runs) and len(front) == 6
    assert "Pareto front (val_acc maximize, time_s minimize): " in proc.stdout
    assert "best params:" not in proc.stdout  # no single best among several objectives


def test_bayes_on_several_objectives_runs_optunas_nsga2_with_one_direction_each(project):
    config = SweepConfig.parse(yaml.safe_load(SWEEP.format(method="bayes", parameters=CONTINUOUS)))
    search = BayesSearch(config.space, config.to_dict(), seed=1)
    history = []
    for i in range(4):
        params = search.suggest(history, trial_id=f"t{i}")
        values = {"val_acc": params["train.x"], "time_s": params["train.x"] ** 2}
        history.append(TrialView(f"t{i}", params, "completed", values["val_acc"], values))
    search.suggest(history, trial_id="t4")
    study = search._study
    assert type(study.sampler).__name__ == "NSGAIISampler"
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    told = [t.values for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert told == [[h.values["val_acc"], h.values["time_s"]] for h in history]
    tpe = BayesSearch(config.space, {**config.to_dict(), "bayes": {"sampler": "tpe"}}, seed=1)
    tpe.suggest([], trial_id="t0")
    assert type(tpe._study.sampler).__name__ == "TPESampler" and len(tpe._study.directions) == 2


def test_a_bayes_sweep_on_two_objectives_runs_end_to_end(project):
    proc = run_cli("sweep", "--config", _write(project, "bayes"), "--trials", "5", "--seed", "2",
                   "--quiet", check=True)
    assert "5 completed" in proc.stdout and "Pareto front" in proc.stdout
    assert_one_line_error(run_cli("sweep", "--config", _write(project, "bayes", extra=(
        "bayes: {sampler: gp}\n")), "--trials", "2", "--quiet"), "bayes.sampler", "nsga2")


def test_early_stopping_on_several_objectives_must_name_the_one_it_watches(project):
    early = "early_terminate: {type: hyperband, min_iter: 1, eta: 2%s}\n"
    assert_one_line_error(run_cli("sweep", "--config", _write(project, extra=early % "")),
                          "early_terminate.metric", "val_acc, time_s")
    assert_one_line_error(run_cli("sweep", "--config", _write(project, extra=early % ", metric: loss")),
                          "early_terminate.metric", "'loss'")
    assert not (project / "experiments").exists()
    (project / "params.yaml").write_text("train: {x: 0.5, y: 0.0, epochs: 6}\n")
    run_cli("sweep", "--config", _write(project, extra=early % ", metric: val_acc"), "--trials", "6",
            "--seed", "1", "--quiet", check=True)
    runs = exptrack.ExperimentTracker().list_runs("trade-off")
    pruned = [r for r in runs if r["status"] == "pruned"]
    assert pruned and all(r["summary"]["val_acc"]["count"] < 6 for r in pruned)


def test_the_multi_objective_config_is_checked_key_by_key(project):
    bad = SWEEP.format(method="random", parameters=CONTINUOUS).replace(
        "  - {name: time_s, goal: minimize}", "  - {name: time_s, goal: fastest}")
    (project / "multi.yaml").write_text(bad)
    assert_one_line_error(run_cli("sweep", "--config", "multi.yaml"), "metric[1].goal", "fastest")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = SweepConfig.parse(yaml.safe_load(SWEEP.format(method="grid", parameters=GRID)))
    assert [m.name for m in config.objectives] == ["val_acc", "time_s"]
    assert SweepConfig.parse(config.to_dict()).objectives == config.objectives  # sweep.json round trip
