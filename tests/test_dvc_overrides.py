"""`-S` means what `dvc exp run -S` means: DVC's own function and exptrack's, on the same params.yaml,
give the same data and types, and refuse the same overrides (issue 10, section 3)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from exptrack_core.errors import ExptrackError
from exptrack_core.params import apply_overrides, read_yaml_mapping

dvc_hydra = pytest.importorskip("dvc.utils.hydra")

CORPUS = Path(__file__).parent / "data" / "dvc_overrides.txt"
BASE = """\
seed: 1
name: base
train:
  lr: 0.001
  layers: [64, 32]
  opt: {name: adam}
flags: [true, false]
"""
OVERRIDES = [line.rstrip("\n") for line in CORPUS.read_text(encoding="utf-8").splitlines()
             if not line.startswith("# ")]
COMBOS = [["~seed", "+seed=3"], ["train.lr=0.5", "train.lr=0.25"], ["+x=1", "name=${x}"],
          ["~train.layers", "+train.layers={a:1}"], ["seed=2", "+seed=3"]]


def typed(value):
    """Data with each leaf's type beside it, so 1 and 1.0 and '1' differ; NaN equals NaN."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def by_dvc(tmp_path, overrides):
    path = tmp_path / "dvc" / "params.yaml"
    path.parent.mkdir()
    path.write_text(BASE, encoding="utf-8")
    try:
        dvc_hydra.apply_overrides(str(path), overrides)
    except Exception as exc:  # DVC lets some of Hydra's and OmegaConf's errors through as they are
        return "error", type(exc).__name__
    return "ok", typed(read_yaml_mapping(path))


def by_exptrack(tmp_path, overrides):
    path = tmp_path / "params.yaml"
    path.write_text(BASE, encoding="utf-8")
    try:
        return "ok", typed(apply_overrides(read_yaml_mapping(path), overrides))
    except ExptrackError as exc:
        assert "\n" not in str(exc), "the refusal is one line"
        return "error", str(exc)


def test_the_corpus_is_large_enough_to_mean_something():
    assert len(OVERRIDES) >= 100 and len(set(OVERRIDES)) == len(OVERRIDES)


@pytest.mark.parametrize("overrides", [[o] for o in OVERRIDES] + COMBOS, ids=repr)
def test_exptrack_applies_an_override_as_dvc_exp_run_does(tmp_path, overrides):
    dvc_kind, dvc_result = by_dvc(tmp_path, overrides)
    ours_kind, ours_result = by_exptrack(tmp_path, overrides)
    assert ours_kind == dvc_kind, (dvc_result, ours_result)
    if dvc_kind == "ok":
        assert ours_result == dvc_result


# Values a sweep trial can hold (JSON's types), as --executor dvc hands them to dvc exp run -S.
TRIAL_VALUES = ["a,b", "a=b", "70,80,90", "it's", "'", "\\", "a\\'b", "${x}", "$${x}", "\\${x}",
                "x#y", "1e-3", "true", "null", "3.0", "", "  padded  ", "héllo 日本", "a\\b", "a\\",
                "choice(1,2)", "[1,2]", "{a:1}", "~", "=", "+x", '"q"', '\\"', "\t", "two\nlines",
                1, -5, 0, 2**70, 1.5, 1e-05, 3.0, -0.0, float("inf"), float("-inf"), float("nan"),
                1e300, True, False, None, [], {}, [1, "a,b", None, [2.5]],
                {"a": 1, "b": {"c": "x=y"}}, {"a-b": [1]}, {"lr": "1e-3"}]


@pytest.mark.parametrize("key", ["seed", "train", "added"])
@pytest.mark.parametrize("value", TRIAL_VALUES, ids=repr)
def test_a_trial_value_reaches_params_yaml_through_dvc_unchanged(tmp_path, key, value):
    from exptrack_plugins.dvc.executor import set_flags

    path = tmp_path / "params.yaml"
    path.write_text(BASE, encoding="utf-8")
    known = {"seed", "name", "train.lr", "train.layers", "train.opt.name", "flags"}
    flags = set_flags({key: value}, known)
    dvc_hydra.apply_overrides(str(path), flags[1::2])  # what `dvc exp run -S ... -S ...` does
    assert typed(read_yaml_mapping(path)[key]) == typed(value)
