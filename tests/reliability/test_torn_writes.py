"""Torn writes: a record file that ends in half a line (its writer was killed mid-write) is read up
to that line, with a warning naming the file, and later writers never glue onto the half line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

import exptrack
from exptrack_plugins.local.files import TornRecordWarning
from exptrack_plugins.local.tracker import LocalTracker

from ..conftest import run_cli, run_python
from ..sweep_helpers import PARAMS, make_project
from .helpers import count, wait_until

FAST = PARAMS.replace("sleep: 0.0", "sleep: 0.1")


def _events(journal):
    return [json.loads(l) for l in journal.read_text().splitlines() if l.endswith("}")]


@pytest.mark.parametrize("torn", [
    '{"event": "end", "trial_id": "t0003", "status": "compl',   # killed while journaling an end
    '{"event": "start", "trial_id": "t0004", "run_id": "2026',  # ... while journaling a start
])
def test_a_torn_journal_tail_is_ignored_and_the_resumed_sweep_finishes_the_grid(workdir, torn):
    make_project(workdir, FAST)
    controller = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet"],
                                  cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = wait_until(lambda: next((workdir / "experiments" / "_sweeps").glob("*/trials.jsonl"),
                                      None), what="the journal")
    wait_until(lambda: sum(e["event"] == "end" for e in _events(journal)) >= 2, what="two trials")
    controller.kill()
    controller.wait(30)
    with open(journal, "a") as f:
        f.write(torn)
    count("faults")
    sweep_id = journal.parent.name
    listed = json.loads(run_cli("sweeps", "--json", check=True).stdout)  # readable while torn
    assert listed[0]["status"] == "stopped"
    run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)
    lines = journal.read_text().splitlines()
    assert torn in lines  # kept as evidence, on a line of its own
    assert all(json.loads(l) for l in lines if l != torn)  # every event after it stands alone
    runs = exptrack.ExperimentTracker().list_runs("toy")
    points = Counter((r["params"]["train"]["lr"], r["params"]["train"]["wd"])
                     for r in runs if r["status"] == "completed")
    assert len(points) == 6 and set(points.values()) == {1}, points
    count("records checked", 6)
    assert json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["trials"]["completed"] == 6


def test_logging_after_a_torn_history_line_keeps_every_whole_record(workdir):
    with exptrack.init(experiment="e") as run:
        run.log({"loss": 0.0}, step=0)
        run.log({"loss": 1.0}, step=1)
    with open(run.dir / "metrics.csv", "a") as f:
        f.write("2,loss,0.5")  # its writer was killed mid-line
    count("faults")
    # another process takes the run up again by its id, as the classic id-based API does
    proc = run_python(f"import exptrack\nt = exptrack.ExperimentTracker()\n"
                      f"t.log_metrics({run.id!r}, {{'loss': 3.0}}, step=3)\n"
                      f"t.finish_run({run.id!r})\n", workdir)
    assert proc.returncode == 0, proc.stderr
    with pytest.warns(TornRecordWarning, match="metrics.csv"):
        record = LocalTracker("experiments").get_run(run.id)
    assert [(p["step"], p["value"]) for p in record["metrics"]["loss"]] == [(0, 0.0), (1, 1.0),
                                                                              (3, 3.0)]
    assert record["summary"]["loss"] == {"last": 3.0, "step": 3, "min": 0.0, "max": 3.0, "count": 3}
    count("records checked", 3)


def test_a_history_torn_by_a_kill_is_shown_by_the_cli_with_a_warning(workdir):
    with exptrack.init(experiment="e") as run:
        for step in range(4):
            run.log({"acc": step / 4}, step=step)
    with open(run.dir / "metrics.csv", "a") as f:
        f.write("4,acc,0.")
    (run.dir / "summary.json").unlink()
    count("faults")
    proc = run_cli("show", run.id, "--json", check=True)
    shown = json.loads(proc.stdout)
    assert [p["step"] for p in shown["metrics"]["acc"]] == [0, 1, 2, 3]
    assert "metrics.csv" in proc.stderr and "half-written" in proc.stderr
