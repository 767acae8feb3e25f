"""W&B names where exptrack's own pipeline meets them: params.yaml paths and experiment names."""

import json

import pytest

from exptrack_core.errors import ExptrackError
from exptrack_core.params import PARAMS_ENV, load_params
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.lifecycle import start


def test_a_trial_with_a_value_and_its_dotted_key_cannot_be_applied_to_params_yaml(
        tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text("dataset: {train_batch: 8}\n")
    monkeypatch.setenv(PARAMS_ENV, json.dumps({"dataset.train_batch": 32, "dataset": "cifar10"}))
    with pytest.raises(ExptrackError) as err:
        load_params(tmp_path / "params.yaml")
    assert "'dataset' is a value but 'dataset.train_batch' makes it a section" in str(err.value)


def test_dotted_trial_names_become_params_yaml_paths(tmp_path, monkeypatch):
    (tmp_path / "params.yaml").write_text("train: {lr: 0.1, epochs: 3}\n")
    monkeypatch.setenv(PARAMS_ENV, json.dumps({"train.lr": 0.01}))
    assert load_params(tmp_path / "params.yaml") == {"train": {"lr": 0.01, "epochs": 3}}


def test_a_sweep_name_w_and_b_accepts_is_its_label_and_the_experiment_name_is_derived(tmp_path):
    config = SweepConfig.parse({"name": "ablation/lr-0.1", "method": "random", "program": "t.py",
                                "parameters": {"lr": {"min": 0.1, "max": 1.0}}})
    store = start(config, dir=tmp_path)
    meta = store.meta()
    assert meta["name"] == "ablation/lr-0.1" and meta["experiment"] == "ablation-lr-0.1"
