"""Params the records cannot hold (a set, a datetime, a tuple key, 1,000 levels of nesting, both 1
and "1" as keys) are refused in one line before anything is written; numpy and torch scalars are
recorded as the numbers they are."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pytest

import exptrack
from exptrack_core.errors import ExptrackError

from .helpers import count, snapshot, tree_diff


def _deep(levels: int) -> dict:
    out: dict = {"leaf": 1}
    for _ in range(levels):
        out = {"x": out}
    return out


BAD = {
    "a set": {"layers": {1, 2}},
    "a datetime": {"when": datetime.datetime(2026, 1, 1)},
    "a tuple key": {(1, 2): "pair"},
    "1,000 levels of nesting": _deep(1000),
    "both 1 and '1' as keys": {1: "a", "1": "b"},
}


@pytest.mark.parametrize("what", list(BAD))
def test_unrecordable_params_are_refused_before_anything_is_written(workdir, what):
    with pytest.raises(ExptrackError) as err:
        exptrack.init(experiment="e", params=BAD[what])
    assert "\n" not in str(err.value) and "param" in str(err.value)
    with pytest.raises(ExptrackError):
        tracker = exptrack.ExperimentTracker()
        tracker.log_params(tracker.create_run("e"), BAD[what])
    count("bad inputs", 2)
    before = snapshot(workdir / "experiments" / "e")
    run_dirs = list((workdir / "experiments" / "e").iterdir())
    assert len(run_dirs) == 1  # only the ExperimentTracker's own run, its params.json intact
    assert json.loads((run_dirs[0] / "params.json").read_text()) == {}
    with pytest.raises(ExptrackError):
        with exptrack.init(experiment="f") as run:
            run.log_params(BAD[what])
    assert tree_diff(before, snapshot(workdir / "experiments" / "e")) == []


def test_numpy_and_torch_scalars_are_recorded_as_numbers(workdir):
    torch = pytest.importorskip("torch")
    params = {"lr": np.float32(0.5), "epochs": np.int64(3), "decay": torch.tensor(0.25),
              "betas": np.array([0.5, 0.75])}
    with exptrack.init(experiment="e", params=params) as run:
        run.log_params({"momentum": np.float64(0.9)})
    recorded = json.loads((run.dir / "params.json").read_text())
    assert recorded == {"lr": 0.5, "epochs": 3, "decay": 0.25, "betas": [0.5, 0.75],
                        "momentum": 0.9}
    assert run.params["momentum"] == 0.9 and type(run.params["lr"]) is float
    count("records checked", 5)
