"""The local tracker's files: append-only history, torn lines, summaries, broken run directories."""

from __future__ import annotations

import json
import time

import pytest

import exptrack
from exptrack_plugins.local.files import TornRecordWarning
from exptrack_plugins.local.tracker import LocalTracker

from .conftest import run_cli


def test_logging_only_ever_appends_to_the_history(workdir):
    run = exptrack.init(experiment="e")
    history = run.dir / "metrics.csv"
    run.log({"loss": 1.0}, step=0)
    before = history.read_bytes()
    inode = history.stat().st_ino
    for step in range(1, 200):
        run.log({"loss": 1.0 / step, "acc": step / 200}, step=step)
    after = history.read_bytes()
    assert after.startswith(before) and history.stat().st_ino == inode
    assert after.count(b"\n") == 1 + 1 + 2 * 199
    run.finish()


def test_a_half_written_last_line_is_skipped_with_a_warning_naming_the_file(workdir):
    with exptrack.init(experiment="e") as run:
        for step in range(5):
            run.log({"loss": float(step)}, step=step)
    history = run.dir / "metrics.csv"
    with open(history, "a") as f:
        f.write("5,loss,0.12")  # the writer died mid-line
    (run.dir / "summary.json").unlink()
    with pytest.warns(TornRecordWarning, match="metrics.csv"):
        record = LocalTracker("experiments").get_run(run.id)
    assert [p["value"] for p in record["metrics"]["loss"]] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_the_summary_catches_up_with_history_written_after_it(workdir):
    with exptrack.init(experiment="e") as run:
        run.log({"acc": 0.5}, step=0)
    with open(run.dir / "metrics.csv", "a") as f:  # as if appended by a process killed later
        f.write(f"1,acc,0.9,{time.time()}\n")
    summary = LocalTracker("experiments").get_run(run.id)["summary"]["acc"]
    assert summary == {"last": 0.9, "step": 1, "min": 0.5, "max": 0.9, "count": 2}


def test_a_corrupt_run_directory_does_not_hide_the_others(workdir):
    for i in range(2):
        with exptrack.init(experiment="e", params={"i": i}) as run:
            run.log({"acc": i / 2}, step=0)
    broken = run.dir
    (broken / "meta.json").write_text("{not json")
    errors: list[str] = []
    runs = LocalTracker("experiments").list_runs(errors=errors)
    assert len(runs) == 1 and len(errors) == 1 and broken.name in errors[0]
    proc = run_cli("compare", cwd=workdir, check=True)
    assert runs[0]["run_id"] in proc.stdout
    assert broken.name in proc.stderr


def test_files_are_human_readable(workdir):
    with exptrack.init(experiment="e", params={"train": {"lr": 0.1}}) as run:
        run.log({"acc": 0.5}, step=0)
    meta = json.loads((run.dir / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["experiment_name"] == "e"
    assert json.loads((run.dir / "params.json").read_text()) == {"train": {"lr": 0.1}}
    summary = json.loads((run.dir / "summary.json").read_text())
    assert summary["metrics"]["acc"]["last"] == 0.5
    assert (run.dir / "artifacts").is_dir()


def test_a_run_can_be_found_by_a_unique_prefix_of_its_id(workdir):
    with exptrack.init(experiment="e") as run:
        pass
    assert LocalTracker("experiments").get_run(run.id[:-2])["run_id"] == run.id
