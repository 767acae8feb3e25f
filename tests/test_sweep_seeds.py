"""`exptrack sweep --seeds N`: each configuration once per seed, judged by its mean; promote --seeds."""

from __future__ import annotations

import json
from statistics import mean

import pytest
import yaml

import exptrack
from exptrack_core.sweep import lifecycle as api
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.journal import SweepStore

from .conftest import assert_one_line_error, run_cli

# lr=0.1 has the single best run (seed 0) but the worse mean; lr=0.01 is steadier and better on average
TRAIN = '''
import exptrack
params = exptrack.load_params()
t = params["train"]
ACC = {(0.1, 0): 0.95, (0.1, 1): 0.55, (0.1, 2): 0.60, (0.01, 0): 0.80, (0.01, 1): 0.78,
       (0.01, 2): 0.82}
with exptrack.init(params=params) as run:
    run.log({"val_acc": ACC.get((t["lr"], t["seed"]), 0.5) - t["wd"],
             "init": t.get("init", -1)}, step=0)
'''

PARAMS = '''
train:
  lr: 0.01
  wd: 0.0
  seed: 42
  init: 7
sweep:
  name: seeded
  method: grid
  metric: {name: val_acc, goal: maximize}
  program: train.py
  command: ["${interpreter}", "${program}"]
  seeds: 3
  parameters:
    train.lr: {values: [0.1, 0.01]}
    train.wd: {values: [0.0, 0.1]}
'''

MEANS = {(0.1, 0.0): mean([0.95, 0.55, 0.60]), (0.01, 0.0): mean([0.80, 0.78, 0.82]),
         (0.1, 0.1): mean([0.85, 0.45, 0.50]), (0.01, 0.1): mean([0.70, 0.68, 0.72])}


@pytest.fixture
def project(workdir):
    (workdir / "train.py").write_text(TRAIN)
    (workdir / "params.yaml").write_text(PARAMS)
    return workdir


def _sweeps():
    return json.loads(run_cli("sweeps", "--json", check=True).stdout)


def test_seeds_in_the_sweep_file_run_every_configuration_once_per_seed_ranked_by_the_mean(project):
    proc = run_cli("sweep", "--quiet", check=True)
    runs = exptrack.ExperimentTracker().list_runs("seeded")
    seen = sorted((r["params"]["train"]["lr"], r["params"]["train"]["wd"],
                   r["params"]["train"]["seed"]) for r in runs)
    assert seen == sorted((lr, wd, s) for lr in (0.1, 0.01) for wd in (0.0, 0.1) for s in range(3))
    # the single best run is lr=0.1 seed 0 (0.95), but the best configuration on average is lr=0.01
    assert f"val_acc={MEANS[(0.01, 0.0)]:.6g} (mean of 3 seeds)" in proc.stdout
    assert "12 completed" in proc.stdout
    assert _sweeps()[0]["best"] == pytest.approx(MEANS[(0.01, 0.0)])
    best = yaml.safe_load(run_cli("best", "--sweep", _sweeps()[0]["sweep_id"], check=True).stdout)
    assert best["value"] == pytest.approx(MEANS[(0.01, 0.0)]) and best["n"] == 3
    assert best["params"]["train"]["lr"] == 0.01 and "seed" not in best["params"]["train"]
    assert sorted(best["seeds"]) == [0, 1, 2]
    # the line the sweep ends with re-runs that very trial, its seed included, as best's does
    rerun = proc.stdout.split("re-run it: ")[1].splitlines()[0]
    assert rerun == best["rerun"] and '"train.seed": 0' in rerun


def test_the_strategy_sees_one_result_per_configuration_told_once_all_its_seeds_ended(workdir):
    class Recorder:
        def __init__(self):
            self.histories = []
            self.points = [{"lr": 0.1}, {"lr": 0.01}, None]

        def suggest(self, history):
            self.histories.append([(dict(t.params), t.status, t.value) for t in history])
            return self.points[len(history)]

    def objective(params):
        return {0.1: [1.0, 2.0], 0.01: [4.0, 8.0]}[params["lr"]][params["seed"]]

    config = SweepConfig.parse({"method": "random", "metric": {"name": "loss", "goal": "minimize"},
                                "seeds": 2, "seed_key": "seed",
                                "parameters": {"lr": {"values": [0.1, 0.01]}}})
    recorder = Recorder()
    store = api.start(config, dir=workdir / "experiments")
    outcome = api.execute(store, config, executor="inline", objective=objective, progress=False,
                          strategy=recorder)
    assert [t.params for t in outcome.trials] == [{"lr": 0.1, "seed": 0}, {"lr": 0.1, "seed": 1},
                                                  {"lr": 0.01, "seed": 0}, {"lr": 0.01, "seed": 1}]
    # asked three times (two configurations, then the end), never about a seed
    assert recorder.histories == [[], [({"lr": 0.1}, "completed", 1.5)],
                                  [({"lr": 0.1}, "completed", 1.5), ({"lr": 0.01}, "completed", 6.0)]]
    assert outcome.best.params == {"lr": 0.1} and outcome.best.value == 1.5


def test_seeds_and_seed_key_from_the_command_line(project):
    (project / "params.yaml").write_text(PARAMS.replace("  seeds: 3\n", ""))
    run_cli("sweep", "--seeds", "2", "--seed-key", "train.init", "--quiet", check=True)
    runs = exptrack.ExperimentTracker().list_runs("seeded")
    assert len(runs) == 8
    assert sorted(r["summary"]["init"]["last"] for r in runs) == [0] * 4 + [1] * 4
    assert {r["params"]["train"]["seed"] for r in runs} == {42}  # the default seed key untouched
    meta = SweepStore(project / "experiments", _sweeps()[0]["sweep_id"]).meta()
    assert meta["config"]["seeds"] == 2 and meta["config"]["seed_key"] == "train.init"


def test_a_run_cap_never_leaves_a_configuration_short_of_seeds(project):
    proc = run_cli("sweep", "--trials", "7", "--quiet", check=True)
    assert "6 completed" in proc.stdout and "run_cap reached" in proc.stdout


def test_a_seed_key_the_sweep_searches_is_refused_before_anything_runs(project):
    (project / "params.yaml").write_text(PARAMS.replace(
        "    train.wd: {values: [0.0, 0.1]}", "    train.seed: {values: [1, 2]}"))
    assert_one_line_error(run_cli("sweep"), "parameters.train.seed", "seed key")
    assert not (project / "experiments").exists()


@pytest.mark.parametrize("args, fragments", [
    (["--seeds", "0"], ["--seeds", "0"]),
    (["--seeds", "two"], ["--seeds", "two"]),
    (["--seed-key", "train..seed"], ["--seed-key", "train..seed"]),
    (["-S", "train.seed=3"], ["-S train.seed", "--seeds"]),
])
def test_bad_seed_settings_are_one_line_errors(project, args, fragments):
    assert_one_line_error(run_cli("sweep", *args), *fragments)
    assert not (project / "experiments").exists()


def test_promote_reruns_the_best_configurations_with_several_seeds_as_a_linked_sweep(project):
    (project / "params.yaml").write_text(PARAMS.replace("  seeds: 3\n", ""))
    run_cli("sweep", "--quiet", check=True)  # one run per configuration, all with seed 42
    source = _sweeps()[0]["sweep_id"]
    proc = run_cli("promote", source, "--top", "2", "--seeds", "3", "--quiet", check=True)
    promoted = [s for s in _sweeps() if s["sweep_id"] != source][0]
    runs = [r for r in exptrack.ExperimentTracker().list_runs("seeded")
            if r["sweep_id"] == promoted["sweep_id"]]
    # every config scores 0.5 - wd with seed 42: the two with wd=0 are the best, now 3 seeds each
    assert sorted((r["params"]["train"]["lr"], r["params"]["train"]["wd"],
                   r["params"]["train"]["seed"]) for r in runs) == \
        sorted((lr, 0.0, s) for lr in (0.1, 0.01) for s in range(3))
    meta = SweepStore(project / "experiments", promoted["sweep_id"]).meta()
    assert meta["settings"]["promoted_from"] == source and meta["config"]["seeds"] == 3
    assert f"val_acc={MEANS[(0.01, 0.0)]:.6g} (mean of 3 seeds)" in proc.stdout
    assert promoted["best"] == pytest.approx(MEANS[(0.01, 0.0)])


def test_seeds_under_an_s_grid_run_every_point_of_it_with_every_seed(project):
    (project / "params.yaml").write_text(PARAMS.replace("    train.wd: {values: [0.0, 0.1]}\n", ""))
    proc = run_cli("sweep", "--seeds", "2", "-S", "train.wd=0,0.1", "--quiet", check=True)
    assert "8 completed" in proc.stdout  # 2 lr (searched) x 2 wd (-S) x 2 seeds
    runs = exptrack.ExperimentTracker().list_runs("seeded")
    assert sorted((r["params"]["train"]["lr"], r["params"]["train"]["wd"],
                   r["params"]["train"]["seed"]) for r in runs) == \
        sorted((lr, wd, s) for lr in (0.1, 0.01) for wd in (0, 0.1) for s in range(2))
