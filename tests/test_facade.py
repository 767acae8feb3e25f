"""The seed-style ExperimentTracker facade, used exactly as the classic local-JSON guides do."""

from __future__ import annotations

import pandas as pd
import pytest

from exptrack import ExperimentTracker, ExptrackError


@pytest.fixture
def tracker(workdir):
    return ExperimentTracker(base_dir="experiments")


def _run(tracker, lr, acc, status="completed"):
    run_id = tracker.create_run("ctr_model", tags={"lr": lr}, description=f"lr {lr}")
    tracker.log_params(run_id, {"learning_rate": lr, "batch_size": 128})
    for epoch in range(3):
        tracker.log_metrics(run_id, {"val_auc": acc - 0.01 * (2 - epoch)}, step=epoch)
    tracker.log_metrics(run_id, {"test_accuracy": acc})
    tracker.finish_run(run_id, status=status)
    return run_id


def test_the_classic_workflow_records_and_reads_back_a_run(tracker, workdir):
    run_id = _run(tracker, 0.001, 0.75)
    (workdir / "model.pt").write_bytes(b"abc")
    tracker.log_artifact(run_id, "model.pt", artifact_name="best.pt")
    run = tracker.get_run(run_id)
    for key in ("run_id", "experiment_name", "status", "created_at", "finished_at", "tags",
                "description", "params", "metrics", "run_dir"):
        assert key in run
    assert run["experiment_name"] == "ctr_model" and run["status"] == "completed"
    assert run["params"] == {"learning_rate": 0.001, "batch_size": 128}
    assert [m["step"] for m in run["metrics"]["val_auc"]] == [0, 1, 2]
    assert set(run["metrics"]["val_auc"][0]) == {"step", "value", "timestamp"}
    assert run["finished_at"] is not None
    assert run["artifacts"] == ["best.pt"]


def test_compare_runs_gives_one_row_per_run_with_params_and_final_metrics(tracker):
    ids = [_run(tracker, lr, acc) for lr, acc in ((0.01, 0.72), (0.001, 0.76), (0.0001, 0.74))]
    df = tracker.compare_runs(ids)
    assert isinstance(df, pd.DataFrame) and list(df["run_id"]) == ids
    assert list(df["learning_rate"]) == [0.01, 0.001, 0.0001]
    assert list(df["test_accuracy"]) == [0.72, 0.76, 0.74]
    assert list(df["val_auc"]) == [0.72, 0.76, 0.74]  # final (last) value


def test_best_run_by_max_and_min_and_none_without_runs(tracker):
    assert tracker.get_best_run("test_accuracy") is None
    _run(tracker, 0.01, 0.72)
    best = _run(tracker, 0.001, 0.76)
    worst = _run(tracker, 0.1, 0.60)
    assert tracker.get_best_run("test_accuracy", experiment_name="ctr_model")["run_id"] == best
    assert tracker.get_best_run("test_accuracy", mode="min")["run_id"] == worst
    with pytest.raises(ExptrackError, match="unknown metric 'auc'.*test_accuracy"):
        tracker.get_best_run("auc")


def test_list_runs_filters_by_experiment_and_keeps_failed_ones(tracker):
    _run(tracker, 0.1, 0.5, status="failed")
    other = tracker.create_run("other")
    tracker.finish_run(other, "killed")
    assert [r["status"] for r in tracker.list_runs("ctr_model")] == ["failed"]
    assert len(tracker.list_runs()) == 2


def test_bad_status_and_unknown_run_are_clear_errors(tracker):
    run_id = tracker.create_run("x")
    with pytest.raises(ExptrackError, match="invalid status 'done'"):
        tracker.finish_run(run_id, status="done")
    with pytest.raises(ExptrackError, match="unknown run id 'nope'"):
        tracker.log_metrics("nope", {"a": 1})
    assert tracker.get_run(run_id)["status"] == "running"
