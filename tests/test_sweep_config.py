"""The sweep file: W&B sweep YAML parses unchanged; bad ones fail with the path of the bad key."""

import importlib.metadata as md

import pytest

from exptrack_core.plugin import registry as plugins
from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.sweep.config import SweepConfig, SweepConfigError, check_grid_size

WANDB_YAML = """\
# the kind of file people commit next to train.py for `wandb sweep sweep.yaml`
program: train.py
entity: my-team
project: cifar
method: bayes
name: cifar-bayes
description: learning rate and width
metric:
  name: val_loss
  goal: minimize
  target: 0.1
run_cap: 30
early_terminate:
  type: hyperband
  min_iter: 3
parameters:
  learning_rate:
    distribution: log_uniform_values
    min: 0.0001
    max: 0.1
  batch_size:
    values: [32, 64, 128]
  epochs:
    value: 10
  optimizer:
    parameters:
      momentum:
        distribution: uniform
        min: 0.8
        max: 0.99
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - ${args}
"""


@pytest.fixture
def search_only_registry(monkeypatch):
    """The registry with only this distribution's search plugin (other plugins may be mid-edit)."""
    eps = [e for e in md.entry_points(group="exptrack") if e.name == "search"]
    monkeypatch.setattr(plugins, "_registry", plugins.build_registry(eps))


def base(**changes):
    cfg = {"method": "random", "metric": {"name": "loss"},
           "parameters": {"lr": {"min": 0.001, "max": 0.1}}}
    cfg.update(changes)
    return cfg


def test_a_wandb_sweep_yaml_parses_unchanged_and_lists_what_it_ignores(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(WANDB_YAML)
    cfg = SweepConfig.load(path)
    assert cfg.ignored == ["entity", "project"]
    assert (cfg.method, cfg.name, cfg.program, cfg.run_cap) == ("bayes", "cifar-bayes", "train.py", 30)
    assert cfg.metric.name == "val_loss" and cfg.metric.goal == "minimize" and cfg.metric.target == 0.1
    assert cfg.space.names == ["learning_rate", "batch_size", "epochs", "optimizer.momentum"]
    assert cfg.command == ["${env}", "${interpreter}", "${program}", "${args}"]
    assert cfg.early_terminate == {"type": "hyperband", "min_iter": 3, "eta": 3, "strict": True}


def test_the_sweep_section_of_params_yaml_parses_with_train_keys():
    params_yaml = {"train": {"lr": 0.01}, "sweep": {
        "method": "random", "metric": {"name": "val_acc", "goal": "maximize"}, "run_cap": 8,
        "parameters": {"train.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
                       "train.batch_size": {"values": [32, 64]}}}}
    cfg = SweepConfig.parse(params_yaml)
    assert cfg.space.names == ["train.lr", "train.batch_size"] and cfg.metric.goal == "maximize"


def test_errors_in_the_sweep_section_name_it_in_the_path():
    with pytest.raises(SweepConfigError) as err:
        SweepConfig.parse({"sweep": base(parameters={"lr": {"min": 2, "max": 1}})})
    assert err.value.path == "sweep.parameters.lr.max"


@pytest.mark.parametrize("changes, path, why", [
    ({"method": "bayes", "metric": None}, "metric", "needs a metric"),
    ({"parameters": {}}, "parameters", "at least one parameter"),
    ({"paramters": {}}, "paramters", "unknown key"),
    ({"metric": {"name": "loss", "goal": "minimise"}}, "metric.goal", "minimize, maximize"),
    ({"run_cap": 0}, "run_cap", "positive integer"),
    ({"command": "python train.py"}, "command", "non-empty list"),
    ({"method": "grid"}, "parameters.lr", "continuous range"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 1}},
     "early_terminate.eta", "> 1"),
    ({"early_terminate": {"type": "hyperband", "max_iter": 27}}, "early_terminate",
     "max_iter together with s"),
    ({"metrics": [{"name": "a"}, {"name": "b"}]}, "metrics", "multi-objective"),
])
def test_an_invalid_config_names_the_bad_key_and_why(changes, path, why):
    data = {k: v for k, v in base(**changes).items() if v is not None}
    with pytest.raises(SweepConfigError) as err:
        SweepConfig.parse(data)
    assert err.value.path == path and why in str(err.value)


def test_the_file_name_is_in_the_message_when_loading(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("method: random\nparameters:\n  lr: {min: 1, max: 0}\n")
    with pytest.raises(ExptrackError, match=r"parameters.lr.max: .*sweep.yaml"):
        SweepConfig.load(path)


def test_an_unknown_method_lists_the_registered_strategies(search_only_registry):
    with pytest.raises(UnknownNameError, match="unknown method 'hyperopt'; available: bayes, grid, random"):
        SweepConfig.parse(base(method="hyperopt"))


def test_a_grid_over_10000_points_needs_allow_large():
    huge = base(method="grid", parameters={"a": {"min": 1, "max": 200}, "b": {"min": 1, "max": 100}})
    with pytest.raises(SweepConfigError, match="20,000 points"):
        SweepConfig.parse(huge)
    assert SweepConfig.parse(huge, allow_large=True).grid_size() == 20_000
    assert SweepConfig.parse({**huge, "run_cap": 50}).run_cap == 50
    assert check_grid_size(SweepConfig.parse(huge, allow_large=True).space, limit=30_000) == 20_000


def test_grid_size_is_none_for_a_continuous_space():
    assert SweepConfig.parse(base()).grid_size() is None


def test_bayes_options_are_handed_to_the_strategy_in_to_dict():
    cfg = SweepConfig.parse(base(method="bayes", bayes={"sampler": "tpe"}))
    as_dict = cfg.to_dict()
    assert as_dict["bayes"] == {"sampler": "tpe"} and as_dict["metric"]["goal"] == "minimize"
