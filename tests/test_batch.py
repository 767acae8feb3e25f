"""``exptrack batch DIR``: a directory of named experiment configs run through the project's
program (the trivial one here, the real pipeline in the slow test), then compared."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from exptrack_core.run import get_tracker

from .conftest import REPO, assert_one_line_error, run_cli

PROGRAM = """\
import exptrack
p = exptrack.load_params("params.yaml")
with exptrack.init(params=p) as run:
    for epoch in range(p["train"]["epochs"]):
        run.log({"val_acc": p["train"]["lr"] * (epoch + 1), "train_loss": 1 - p["train"]["lr"]},
                step=epoch)
    run.log({"test_acc": p["train"]["lr"] / 2, "test_loss": 0.5})
"""

PARAMS = """\
train:
  lr: 0.1
  epochs: 2
sweep:
  program: train.py
  metric: {name: val_acc, goal: maximize}
  parameters:
    train.lr: {values: [0.1]}
"""


def tiny_project(root: Path, configs: dict[str, str]) -> Path:
    (root / "train.py").write_text(PROGRAM)
    (root / "params.yaml").write_text(PARAMS)
    (root / "configs").mkdir()
    for name, text in configs.items():
        (root / "configs" / name).write_text(text)
    return root


CONFIGS = {"baseline.yaml": "name: baseline\ndescription: the defaults\n",
           "lr_high.yaml": "name: lr_high\ntrain:\n  lr: 0.3\n",
           "lr_low.yaml": "name: lr_low\ntrain.lr: 0.01\n"}


def runs_by_experiment(root: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for run in get_tracker(root / "experiments").list_runs():
        out.setdefault(run["experiment_name"], []).append(run)
    return out


def test_each_config_runs_as_its_named_experiment_and_the_batch_ends_with_the_comparison(tmp_path):
    root = tiny_project(tmp_path, CONFIGS)
    proc = run_cli("batch", "configs", "--yes", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = runs_by_experiment(root)
    assert sorted(runs) == ["baseline", "lr_high", "lr_low"]
    assert {name: r[0]["params"]["train"]["lr"] for name, r in runs.items()} == \
        {"baseline": 0.1, "lr_high": 0.3, "lr_low": 0.01}
    assert all(r[0]["status"] == "completed" for r in runs.values())
    assert runs["baseline"][0]["description"] == "the defaults"
    table = proc.stdout.split("\n\n")[-2]  # the comparison, best first, before the last line
    rows = [line.split() for line in table.splitlines()[2:]]
    assert [r[1] for r in rows] == ["lr_high", "baseline", "lr_low"]
    assert "batch " in proc.stdout.splitlines()[-1] and "3 completed" in proc.stdout


def test_a_second_batch_skips_what_completed_unless_forced(tmp_path):
    root = tiny_project(tmp_path, CONFIGS)
    run_cli("batch", "configs", "--yes", cwd=root, check=True)
    again = run_cli("batch", "configs", "--yes", cwd=root, check=True)
    assert "0 to run, 3 already completed" in again.stdout and "nothing to run" in again.stdout
    assert all(len(r) == 1 for r in runs_by_experiment(root).values())
    run_cli("batch", "configs", "--yes", "--force", "--filter", "lr_h", cwd=root, check=True)
    assert {k: len(v) for k, v in runs_by_experiment(root).items()} == \
        {"baseline": 1, "lr_high": 2, "lr_low": 1}


def test_a_failing_experiment_does_not_stop_the_others_and_the_exit_code_says_so(tmp_path):
    root = tiny_project(tmp_path, {**CONFIGS, "broken.yaml": "name: broken\ntrain:\n  epochs: -1\n"})
    (root / "train.py").write_text("import exptrack, sys\n"
                                   "if exptrack.load_params()['train']['epochs'] < 0: sys.exit(3)\n"
                                   + PROGRAM)
    proc = run_cli("batch", "configs", "--yes", "--quiet", cwd=root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "3 completed" in proc.stdout and "1 failed" in proc.stdout
    assert sorted(runs_by_experiment(root)) == ["baseline", "broken", "lr_high", "lr_low"]
    assert "lr_high" in proc.stdout.split("\n\n")[-2]  # the comparison is still printed


def test_a_batch_is_run_again_not_resumed_as_a_sweep(tmp_path):
    root = tiny_project(tmp_path, CONFIGS)
    run_cli("batch", "configs", "--yes", "--quiet", "--filter", "lr_low", cwd=root, check=True)
    [sweep_dir] = (root / "experiments/_sweeps").iterdir()
    before = (sweep_dir / "trials.jsonl").read_bytes()
    proc = run_cli("sweep", "--resume", sweep_dir.name, cwd=root)
    assert_one_line_error(proc, "is a batch", "exptrack batch configs")
    assert (sweep_dir / "trials.jsonl").read_bytes() == before


def test_filter_runs_only_the_files_with_the_prefix_and_workers_run_them_at_once(tmp_path):
    root = tiny_project(tmp_path, CONFIGS)
    proc = run_cli("batch", "configs", "--filter", "lr_", "--workers", "2", "--yes", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert sorted(runs_by_experiment(root)) == ["lr_high", "lr_low"]
    sweep = json.loads(next((root / "experiments/_sweeps").glob("*/sweep.json")).read_text())
    assert sweep["settings"]["workers"] == 2


@pytest.mark.parametrize("text, fragments", [
    ("name: typo\ntrain:\n  lrr: 0.3\n", ["typo.yaml", "unknown key 'train.lrr'", "'train.lr'"]),
    ("name: typo\noptimiser: sgd\n", ["typo.yaml", "unknown key 'optimiser'"]),
    ("name: [typo\n", ["typo.yaml", "not valid YAML"]),
    ("train:\n  lr: 0.3\n", ["typo.yaml", "missing 'name'"]),
    ("name: lr_low\n", ["typo.yaml", "'lr_low'", "lr_low.yaml"]),
    ("name: ../up\n", ["typo.yaml", "invalid experiment name"]),
])
def test_a_bad_config_is_one_line_naming_the_file_and_nothing_runs(tmp_path, text, fragments):
    root = tiny_project(tmp_path, {**CONFIGS, "typo.yaml": text})
    proc = run_cli("batch", "configs", "--yes", cwd=root)
    assert_one_line_error(proc, *fragments)
    assert not (root / "experiments").exists()


def test_without_a_terminal_or_yes_the_batch_is_refused_in_one_line(tmp_path):
    root = tiny_project(tmp_path, CONFIGS)
    proc = subprocess.run([sys.executable, "-m", "exptrack_core.cli", "batch", "configs"],
                          cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    assert_one_line_error(proc, "--yes")
    assert proc.stdout == "" and not (root / "experiments").exists()


@pytest.mark.parametrize("answer, ran", [("y", True), ("n", False)])
def test_at_a_terminal_the_batch_lists_what_will_run_and_asks(tmp_path, answer, ran):
    root = tiny_project(tmp_path, CONFIGS)
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "batch", "configs",
                             "--filter", "lr_low"], cwd=root, stdin=secondary,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(secondary)
    os.write(primary, f"{answer}\n".encode())
    out, err = proc.communicate(timeout=120)
    os.close(primary)
    assert "run   lr_low" in out and "run 1 experiment(s)? [y/N]" in out
    assert (proc.returncode == 0) is ran, out + err
    assert (sorted(runs_by_experiment(root)) == ["lr_low"]) is ran
    if not ran:
        assert "cancelled: nothing was started" in out


def test_compare_split_shows_the_metrics_of_one_split(tmp_path):
    root = tiny_project(tmp_path, CONFIGS)
    run_cli("batch", "configs", "--yes", "--quiet", cwd=root, check=True)
    proc = run_cli("compare", "--split", "test", "--format", "json", cwd=root, check=True)
    rows = json.loads(proc.stdout)
    metrics = {k for row in rows for k in row if k.endswith(("_acc", "_loss"))}
    assert metrics == {"test_acc", "test_loss"}
    assert [r["experiment"] for r in rows] == ["lr_high", "baseline", "lr_low"]  # by test_acc
    val = json.loads(run_cli("compare", "--split", "val", "--format", "json", cwd=root,
                             check=True).stdout)
    assert {k for row in val for k in row if k.endswith("_acc")} == {"val_acc"}
    assert_one_line_error(run_cli("compare", "--split", "tset", cwd=root),
                          "unknown split 'tset'", "test", "val")


@pytest.mark.slow
def test_a_batch_runs_the_real_pipeline_with_one_epoch(tmp_path):
    from .test_pipeline import make_project, ok, stage

    root = make_project(tmp_path / "project")
    ok(stage("prepare", root))
    configs = root / "configs"
    configs.mkdir()
    (configs / "baseline.yaml").write_text("name: baseline\ndescription: 1 epoch\n")
    (configs / "sgd.yaml").write_text("name: sgd\ntrain:\n  optimizer: sgd\n  lr: 0.05\n")
    (configs / "zz_bad.yaml").write_text("name: bad\ntrain:\n  lr: abc\n")
    bad = run_cli("batch", "configs", "--yes", cwd=root)
    assert_one_line_error(bad, "zz_bad.yaml", "train.lr")  # the train stage's own checks
    assert not (root / "experiments").exists()
    (configs / "zz_bad.yaml").unlink()
    proc = run_cli("batch", "configs", "--yes", "--quiet", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = runs_by_experiment(root)
    assert sorted(runs) == ["baseline", "sgd"]
    sgd = get_tracker(root / "experiments").get_run(runs["sgd"][0]["run_id"])
    assert sgd["params"]["train"]["optimizer"] == "sgd" and sgd["params"]["train"]["epochs"] == 1
    assert [p["step"] for p in sgd["metrics"]["val_acc"]] == [1]
    assert (Path(sgd["run_dir"]) / "checkpoints/best.pt").is_file()
    assert "dvc exp run" in run_cli("best", "--sweep", sgd["sweep_id"], cwd=root).stdout


def test_the_readmes_example_batch_fits_the_projects_params():
    from exptrack_core.batch import load_batch

    entries = load_batch(REPO / "examples/batch", REPO / "params.yaml")
    assert [e.name for e in entries] == ["baseline", "loss_focal", "lr_high", "lr_low", "sgd"]
    assert [e.name for e in load_batch(REPO / "examples/batch", REPO / "params.yaml", "lr_")] == \
        ["lr_high", "lr_low"]
    assert "exptrack batch examples/batch" in (REPO / "README.md").read_text()


@pytest.mark.slow
def test_compare_split_test_shows_what_the_evaluate_stage_scores_for_each_runs_checkpoint(tmp_path):
    import shutil

    from .test_pipeline import make_project, ok, stage

    root = make_project(tmp_path / "project", **{"train.system_metrics": 0})
    ok(stage("prepare", root))
    (root / "configs").mkdir()
    (root / "configs/baseline.yaml").write_text("name: baseline\n")
    (root / "configs/sgd.yaml").write_text("name: sgd\ntrain:\n  optimizer: sgd\n  lr: 0.05\n")
    run_cli("batch", "configs", "--yes", "--quiet", cwd=root, check=True)

    printed = run_cli("compare", "--split", "test", cwd=root, check=True).stdout.splitlines()
    header = printed[0].split()
    assert [c for c in header if c.startswith(("train_", "val_", "test_", "best_"))] == \
        ["test_acc", "test_loss", "test_f1"]
    rows = [dict(zip(header, line.split())) for line in printed[2:]]
    assert sorted(r["experiment"] for r in rows) == ["baseline", "sgd"]
    assert float(rows[0]["test_acc"]) >= float(rows[1]["test_acc"])  # ranked by test_acc

    tracker = get_tracker(root / "experiments")
    for row in rows:  # the evaluate stage, run on the checkpoint of that run, gives the same numbers
        run = tracker.get_run(row["run_id"])
        assert len(run["metrics"]["test_acc"]) == 1  # logged once, as a final metric
        (root / "checkpoints").mkdir(exist_ok=True)
        shutil.copy(Path(run["run_dir"]) / "checkpoints/best.pt", root / "checkpoints/best.pt")
        ok(stage("evaluate", root))
        evaluated = json.loads((root / "metrics/eval.json").read_text())
        for name in ("test_acc", "test_loss", "test_f1"):
            assert run["metrics"][name][-1]["value"] == pytest.approx(evaluated[name], rel=1e-9)
            assert float(row[name]) == pytest.approx(evaluated[name], rel=1e-5)  # as printed
