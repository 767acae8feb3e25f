"""The Python API called from somewhere else than the project root (a notebook in ``notebooks/``,
a script in ``/tmp``): the pipeline is found by walking up to the project root, as DVC finds its
repository, or refused in one message saying where it looked and how to point elsewhere, with
nothing written."""

from __future__ import annotations

import pytest

import exptrack

from ..sweep_helpers import make_project
from .helpers import count, snapshot, tree_diff


def test_grid_search_outside_any_project_says_where_it_looked_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(exptrack.ExptrackError) as err:
        exptrack.grid_search({"learning_rate": [0.001, 0.01]}, num_epochs=1, progress=False)
    count("bad inputs")
    message = str(err.value)
    assert "'stages/train.py'" in message and repr(str(tmp_path)) in message
    assert "dvc.yaml or params.yaml" in message and "program=" in message
    assert "\n" not in message
    assert tree_diff(before, snapshot(tmp_path)) == []


def test_grid_search_in_a_project_lacking_the_program_names_the_root_it_found(tmp_path, monkeypatch):
    make_project(tmp_path)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    before = snapshot(tmp_path)
    with pytest.raises(exptrack.ExptrackError) as err:
        exptrack.grid_search({"learning_rate": [0.001]}, program="missing.py", progress=False)
    count("bad inputs")
    assert f"the project root {str(tmp_path)!r}" in str(err.value)
    assert tree_diff(before, snapshot(tmp_path)) == []


def test_grid_search_from_a_subdirectory_runs_the_project_pipeline_and_records_in_its_root(tmp_path, monkeypatch):
    make_project(tmp_path)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.delenv("EXPTRACK_DIR", raising=False)
    summary = exptrack.grid_search({"learning_rate": [0.001, 0.01]}, num_epochs=2,
                                   program="train.py", progress=False)
    count("records checked", summary["total_experiments"])
    assert [e["status"] for e in summary["experiments"]] == ["completed", "completed"]
    assert summary["best_params"]["train.lr"] == 0.01
    # the runs are the project's: where `exptrack compare` run from the root finds them
    run = exptrack.ExperimentTracker(base_dir=tmp_path / "experiments").get_run(summary["best_exp_id"])
    assert run["params"]["train"]["epochs"] == 2
    assert not (tmp_path / "notebooks" / "experiments").exists()
