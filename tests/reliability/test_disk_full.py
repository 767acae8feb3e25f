"""Disk full: with the file-size limit lowered (writes then fail with EFBIG, as on a full disk),
logging stops with a clear 'no space' error naming the file, every record written before stays
readable, and the run is finished as failed and shown by `exptrack show`."""

from __future__ import annotations

import json

import pytest

from exptrack_plugins.local.files import HISTORY_HEADER

from ..conftest import run_cli, run_python
from .helpers import count

LIMIT = 20_000  # bytes: a few hundred steps, then every write of metrics.csv fails

TRAIN_UNTIL_FULL = f"""
import resource, sys, exptrack
from exptrack import ExptrackError
logged = 0
try:
    with exptrack.init(experiment="e") as run:
        print(run.id, flush=True)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT}, resource.RLIM_INFINITY))
        for step in range(100_000):
            run.log({{"loss": 1.0 / (step + 1), "acc": step / 1000}}, step=step)
            logged = step + 1
except ExptrackError as exc:
    print(logged, flush=True)
    print(exc, file=sys.stderr)
    sys.exit(2)
"""


def test_a_full_disk_is_a_clear_error_and_every_record_before_it_stays_readable(workdir):
    proc = run_python(TRAIN_UNTIL_FULL, workdir)
    count("faults")
    assert proc.returncode == 2, proc.stderr
    run_id, logged = proc.stdout.split()
    logged = int(logged)
    assert "Traceback" not in proc.stderr
    assert "no space left to write" in proc.stderr and f"{run_id}/metrics.csv" in proc.stderr
    history = next(workdir.glob(f"experiments/e/{run_id}/metrics.csv"))
    text = history.read_text()
    assert text.startswith(HISTORY_HEADER) and text.endswith("\n")  # no half line left behind
    assert 0 < len(text) <= LIMIT

    shown = run_cli("show", run_id, "--json")
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    record = json.loads(shown.stdout)
    assert record["status"] == "failed" and "no space left" in record["note"]
    for name in ("loss", "acc"):
        steps = [p["step"] for p in record["metrics"][name]]
        assert steps == list(range(logged)), name  # every step whose log call returned
        assert record["summary"][name]["count"] == logged
    assert record["metrics"]["loss"][-1]["value"] == pytest.approx(1.0 / logged)
    count("records checked", 2 * logged)
    count("records lost", 2 * logged - sum(len(record["metrics"][n]) for n in ("loss", "acc")))
    assert run_cli("show", run_id).returncode == 0  # the human view reads it too
