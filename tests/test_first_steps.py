"""What a new user hits, README in hand: the Python grid search shows its progress, the W&B upload
hint comes once at the end of a sweep, compare keeps the run id."""

from __future__ import annotations

import glob
import shlex
import textwrap
from pathlib import Path

import pytest

import exptrack

from .conftest import run_cli, run_python
from .sweep_helpers import make_project

GRID = textwrap.dedent("""
    import exptrack
    summary = exptrack.grid_search({"learning_rate": [0.001, 0.01]}, num_epochs=2,
                                   program="train.py"{extra})
    print("best", summary["best_val_acc"])
""")


def test_grid_search_shows_the_same_progress_as_the_cli_while_it_runs(workdir):
    make_project(workdir)
    proc = run_python(GRID.replace("{extra}", ""), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("sweep ") and "grid over train.lr" in lines[0]
    assert any(l.startswith("[1/2] t0001 completed val_acc=") for l in lines), proc.stderr
    assert any(l.startswith("[2/2] t0002 completed val_acc=") and "best val_acc 1.01" in l
               for l in lines), proc.stderr


def test_grid_search_with_progress_false_prints_nothing(workdir):
    make_project(workdir)
    proc = run_python(GRID.replace("{extra}", ", progress=False"), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout.startswith("best 1.01")


def _sync_lines(text: str) -> list[str]:
    return [l for l in text.splitlines() if "wandb sync" in l]


@pytest.mark.slow
def test_a_sweep_logging_to_wandb_offline_ends_with_one_line_naming_what_to_sync(workdir):
    make_project(workdir)
    # a run of the same experiment outside the sweep: the hint must not take it along
    outside = run_python("import exptrack\nwith exptrack.init(experiment='toy', backends='local,wandb')"
                         " as r:\n    r.log({'val_acc': 0.5}, step=0)\n", cwd=workdir,
                         env={"WANDB_MODE": "offline"})
    assert outside.returncode == 0, outside.stderr
    proc = run_cli("sweep", "--trials", "2", "--backend", "local,wandb", "--quiet", cwd=workdir,
                   env={"WANDB_MODE": "offline"})
    assert proc.returncode == 0, proc.stderr
    lines = _sync_lines(proc.stdout + proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("W&B: 2 trial run(s) were logged offline"), lines
    # what the shell would hand wandb sync, selected by wandb's own code
    from wandb.cli.beta_sync import _find_wandb_files

    argv = shlex.split(lines[0].split(": ", 2)[2])
    assert argv[:2] == ["wandb", "sync"]
    paths = [Path(workdir, p) for a in argv[2:] for p in (glob.glob(a, root_dir=workdir) or [a])]
    selected = _find_wandb_files(paths, skip_synced=True, skip_online=True, verbose=False)
    trial_runs = {r["run_id"] for r in exptrack.ExperimentTracker().list_runs("toy") if r.get("sweep_id")}
    assert len(trial_runs) == 2
    assert {f.parents[2].name for f in selected} == trial_runs


@pytest.mark.slow
def test_the_sync_glob_is_used_when_it_names_exactly_the_sweeps_trials(workdir):
    make_project(workdir)
    proc = run_cli("sweep", "--trials", "2", "--backend", "local,wandb", "--quiet", cwd=workdir,
                   env={"WANDB_MODE": "offline"})
    assert proc.returncode == 0, proc.stderr
    assert _sync_lines(proc.stdout + proc.stderr) == [
        "W&B: 2 trial run(s) were logged offline; upload them with: "
        "wandb sync experiments/toy/*/wandb/offline-run-*"]


def test_a_sweep_without_wandb_says_nothing_about_it(workdir):
    make_project(workdir)
    proc = run_cli("sweep", "--trials", "2", "--quiet", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "W&B" not in proc.stdout + proc.stderr and "wandb" not in proc.stdout + proc.stderr


def test_compare_with_chosen_columns_keeps_the_run_id_to_match_rows_to_runs(workdir):
    for lr in (0.1, 0.01):
        with exptrack.init(experiment="digits", params={"lr": lr}) as run:
            run.log({"val_acc": 1 - lr, "val_loss": lr}, step=0)
    proc = run_cli("compare", "--columns", "val_acc,val_loss", "--format", "csv", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.splitlines()
    assert header == "run_id,val_acc,val_loss"
    tracker = exptrack.ExperimentTracker()
    ids = {r["run_id"]: tracker.get_run(r["run_id"])["metrics"]["val_acc"][-1]["value"]
           for r in tracker.list_runs()}
    assert {row.split(",")[0]: float(row.split(",")[1]) for row in rows} == ids
    # asked for explicitly, it stays where it was put
    proc = run_cli("compare", "--columns", "val_acc,run_id", "--format", "csv", cwd=workdir)
    assert proc.stdout.splitlines()[0] == "val_acc,run_id"
