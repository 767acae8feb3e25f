"""What a new user hits, README in hand: the Python grid search shows its progress, the W&B upload
hint comes once at the end of a sweep, compare keeps the run id."""

from __future__ import annotations

import textwrap

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
