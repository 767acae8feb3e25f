"""Bad values that reach the record: NaN and inf metrics (kept, never best), names that would be
paths, symlinks planted in or pointing out of a run, and run directories that are broken."""

from __future__ import annotations

import json
import math
import os
import time

import pytest
import yaml

import exptrack
from exptrack import ExptrackError

from ..conftest import assert_one_line_error, run_cli
from .helpers import count, snapshot, tree_diff

# --- NaN and inf -----------------------------------------------------------------------------------

SCORES = {"diverged": float("nan"), "exploded": float("inf"), "fine": 0.5, "meh": 0.25}

SCORE_PROGRAM = """
import exptrack
params = exptrack.load_params()
score = {"diverged": float("nan"), "exploded": float("inf"), "fine": 0.5, "meh": 0.25}[params["case"]]
with exptrack.init(params=params) as run:
    run.log({"val_acc": score, "val_loss": -score}, step=0)
"""

SCORE_SWEEP = """
sweep:
  name: scores
  method: grid
  metric: {name: val_acc, goal: maximize}
  program: score.py
  command: ["${interpreter}", "${program}"]
  parameters:
    case: {values: [diverged, exploded, fine, meh]}
"""


def test_nan_and_inf_are_recorded_as_such_and_never_chosen_as_best(workdir):
    (workdir / "score.py").write_text(SCORE_PROGRAM)
    (workdir / "params.yaml").write_text("case: fine\n" + SCORE_SWEEP)
    out = run_cli("sweep", "--quiet", check=True).stdout
    count("bad inputs", 2)
    assert "val_acc=0.5" in out and "case: fine" in out  # the sweep's own best
    runs = {r["params"]["case"]: r for r in exptrack.ExperimentTracker().list_runs("scores")}
    assert math.isnan(runs["diverged"]["summary"]["val_acc"]["last"])
    assert runs["exploded"]["summary"]["val_acc"]["last"] == math.inf
    assert all(r["status"] == "completed" for r in runs.values())
    sweep = json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]
    assert sweep["best"] == 0.5
    best = yaml.safe_load(run_cli("best", "--metric", "val_acc", check=True).stdout)
    assert best["params"]["case"] == "fine" and best["value"] == 0.5
    lowest = json.loads(run_cli("best", "--metric", "val_loss", "--mode", "min", "--format", "json",
                                check=True).stdout)
    assert lowest["params"]["case"] == "fine"  # -inf is not the lowest loss
    ranked = json.loads(run_cli("compare", "--sort-by", "val_acc", "--format", "json",
                                check=True).stdout)
    assert [r["case"] for r in ranked][:2] == ["fine", "meh"]
    promoted = run_cli("promote", sweep["sweep_id"], "--top", "2", "--quiet", check=True)
    assert "promoting the top 2" in promoted.stderr
    again = [r["params"]["case"] for r in exptrack.ExperimentTracker().list_runs("scores")
             if r["sweep_id"] != sweep["sweep_id"]]
    assert sorted(again) == ["fine", "meh"]


def test_a_non_numeric_metric_in_a_trial_fails_it_naming_the_key(workdir):
    (workdir / "score.py").write_text(
        "import exptrack\nwith exptrack.init() as run:\n    run.log({'val_acc': 'high'}, step=0)\n")
    (workdir / "params.yaml").write_text("case: fine\n" + SCORE_SWEEP.replace(
        "[diverged, exploded, fine, meh]", "[fine]"))
    proc = run_cli("sweep", "--quiet")
    count("bad inputs")
    assert "1 failed" in proc.stdout and "Traceback" not in proc.stderr
    run = exptrack.ExperimentTracker().list_runs("scores")[0]
    assert run["status"] == "failed" and "metric 'val_acc'" in run["note"] and "'high'" in run["note"]


# --- names -----------------------------------------------------------------------------------------

BAD_NAMES = ["..", "../escape", "a/../../escape", "/tmp/abs", "nul\x00byte", "x" * 256, "é" * 128]


@pytest.mark.parametrize("bad", BAD_NAMES, ids=["dotdot", "parent", "nested", "absolute", "nul",
                                                "256 chars", "256 bytes"])
def test_names_that_would_be_paths_are_refused_and_nothing_is_written(workdir, bad):
    with exptrack.init(experiment="ok") as run:
        run.log({"acc": 1.0}, step=0)
    (workdir / "model.pt").write_bytes(b"weights")
    before = snapshot(workdir)
    tracker = exptrack.ExperimentTracker()
    with pytest.raises(ExptrackError, match="invalid experiment name"):
        exptrack.init(experiment=bad)
    with pytest.raises(ExptrackError, match="invalid experiment name"):
        tracker.create_run(bad)
    with pytest.raises(ExptrackError, match="unknown run id"):
        tracker.log_metrics(bad, {"acc": 0.0}, step=1)
    with pytest.raises(ExptrackError, match="unknown run id"):
        tracker.get_run(bad)
    with pytest.raises(ExptrackError, match="invalid experiment name"):
        tracker.list_runs(bad)
    with pytest.raises(ExptrackError, match="invalid artifact name"):
        tracker.log_artifact(run.id, workdir / "model.pt", bad)
    count("bad inputs", 6)
    assert tree_diff(before, snapshot(workdir)) == []
    assert not (workdir.parent / "escape").exists() and not (workdir / "escape").exists()


# --- symlinks --------------------------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path_factory):
    """A directory outside the project, with a file nobody may overwrite."""
    d = tmp_path_factory.mktemp("outside")
    (d / "victim.txt").write_text("precious")
    return d


def _finished_run(workdir):
    tracker = exptrack.ExperimentTracker()
    run_id = tracker.create_run("e")
    return tracker, run_id, workdir / "experiments" / "e" / run_id / "artifacts"


def test_an_artifact_that_is_a_link_out_of_the_project_is_copied_as_content(workdir, outside):
    tracker, run_id, artifacts = _finished_run(workdir)
    (workdir / "link.txt").symlink_to(outside / "victim.txt")
    dest = tracker.log_artifact(run_id, workdir / "link.txt", "copy.txt")
    count("bad inputs")
    assert not os.path.islink(dest) and open(dest).read() == "precious"
    (workdir / "linkdir").symlink_to(outside, target_is_directory=True)
    (workdir / "ckpt").mkdir()
    (workdir / "ckpt" / "escape").symlink_to(outside / "victim.txt")
    dest = tracker.log_artifact(run_id, workdir / "ckpt", "ckpt")
    assert not os.path.islink(f"{dest}/escape") and open(f"{dest}/escape").read() == "precious"


def test_a_link_planted_in_the_artifacts_is_never_written_through(workdir, outside):
    tracker, run_id, artifacts = _finished_run(workdir)
    (workdir / "model.pt").write_bytes(b"new weights")
    (artifacts / "model.pt").symlink_to(outside / "victim.txt")
    tracker.log_artifact(run_id, workdir / "model.pt", "model.pt")
    assert (artifacts / "model.pt").read_bytes() == b"new weights"
    assert not (artifacts / "model.pt").is_symlink()
    # links planted inside an artifact directory, to a file and to a directory outside
    (workdir / "ckpt" / "sub").mkdir(parents=True)
    (workdir / "ckpt" / "last.pt").write_bytes(b"last")
    (workdir / "ckpt" / "sub" / "victim.txt").write_bytes(b"overwritten")
    (artifacts / "ckpt").mkdir()
    (artifacts / "ckpt" / "last.pt").symlink_to(outside / "victim.txt")
    (artifacts / "ckpt" / "sub").symlink_to(outside, target_is_directory=True)
    tracker.log_artifact(run_id, workdir / "ckpt", "ckpt")
    count("bad inputs", 3)
    assert (outside / "victim.txt").read_text() == "precious"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert (artifacts / "ckpt" / "last.pt").read_bytes() == b"last"


def test_an_artifacts_directory_replaced_by_a_link_is_not_followed(workdir, outside):
    tracker, run_id, artifacts = _finished_run(workdir)
    artifacts.rmdir()
    artifacts.symlink_to(outside, target_is_directory=True)
    (workdir / "victim.txt").write_text("attacker's")
    before = snapshot(outside)
    with pytest.raises(ExptrackError, match="artifacts"):
        tracker.log_artifact(run_id, workdir / "victim.txt", "victim.txt")
    count("bad inputs")
    assert tree_diff(before, snapshot(outside)) == []


# --- broken run directories ------------------------------------------------------------------------

DAMAGES = {"missing meta.json": None, "meta.json not JSON": "{not json", "meta.json a list": "[]",
           "meta.json empty": "", "params.json not JSON": '{"i": '}


def test_broken_run_directories_are_named_and_the_others_are_shown(workdir):
    ids = []
    for i in range(len(DAMAGES) + 2):
        with exptrack.init(experiment="e", params={"i": i}) as run:
            run.log({"val_acc": i / 10}, step=0)
        ids.append(run.id)
    healthy, broken = [ids[0], ids[-1]], dict(zip(DAMAGES, ids[1:-1]))
    for damage, run_id in broken.items():
        run_dir = workdir / "experiments" / "e" / run_id
        if damage == "missing meta.json":
            (run_dir / "meta.json").unlink()
            old = time.time() - 60  # not a run being created right now
            os.utime(run_dir, (old, old))
        else:
            (run_dir / damage.split()[0]).write_text(DAMAGES[damage])
        count("faults")
    before = snapshot(workdir)
    for command in (["runs"], ["compare"]):
        proc = run_cli(*command)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (command, proc.stderr)
        assert all(r in proc.stdout for r in healthy), (command, proc.stdout)
        assert all(r in proc.stderr for r in broken.values()), (command, proc.stderr)
    for damage in ("meta.json not JSON", "meta.json a list", "params.json not JSON"):
        assert_one_line_error(run_cli("show", broken[damage]), broken[damage], "unreadable")
    assert tree_diff(before, snapshot(workdir)) == []
