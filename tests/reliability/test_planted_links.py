"""A link planted at any record file (a run's metrics.csv, meta.json, params.json, summary.json,
context.json, .writer; a sweep's sweep.json, trials.jsonl, controller.lock) is never written
through: the write is refused in one line naming the file, and the link's target is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from exptrack import ExperimentTracker
from exptrack_core.errors import ExptrackError
from exptrack_core.sweep.journal import SweepStore, TrialRecord

from .helpers import count

RUN_FILES = ["metrics.csv", "meta.json", "params.json", "summary.json", "context.json", ".writer"]
SWEEP_FILES = ["sweep.json", "trials.jsonl", "controller.lock"]


@pytest.fixture
def victim(tmp_path_factory):
    path = tmp_path_factory.mktemp("outside") / "victim.txt"
    path.write_text("precious")
    return path


def _plant(path: Path, victim: Path) -> None:
    if path.exists():
        path.unlink()
    path.symlink_to(victim)


def _refused(action, path: Path, victim: Path) -> None:
    with pytest.raises(ExptrackError) as err:
        action()
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "link" in message
    assert victim.read_text() == "precious" and path.is_symlink()
    count("faults")


@pytest.mark.parametrize("name", RUN_FILES)
def test_a_link_planted_at_a_run_record_is_never_written_through(workdir, victim, name):
    t = ExperimentTracker("experiments")
    run_id = t.create_run("e")
    path = Path(t.get_run(run_id)["run_dir"]) / name
    _plant(path, victim)

    def write_everything():
        t.log_params(run_id, {"lr": 0.1})
        t.log_metrics(run_id, {"loss": 0.5}, step=0)
        t.finish_run(run_id)
        t._tracker.log_context(run_id, {"x": 1})
    _refused(write_everything, path, victim)


@pytest.mark.parametrize("name", SWEEP_FILES)
def test_a_link_planted_at_a_sweep_record_is_never_written_through(workdir, victim, name):
    store = SweepStore.create("experiments", name="s", experiment="e", config={})
    path = store.dir / name
    _plant(path, victim)

    def write_everything():
        store.acquire()
        store.set_status("completed")  # a change: an unchanged sweep.json is not rewritten at all
        store.record_start(TrialRecord("t1", "r1", {}, started_at=0.0))
    _refused(write_everything, path, victim)
    store.release()
