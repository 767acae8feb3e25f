"""A second controller on a running sweep is refused naming the first, and touches nothing of the
sweep's record. (The refusal message itself: tests/test_sweep_resume.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from ..conftest import assert_one_line_error, run_cli
from ..sweep_helpers import PARAMS, make_project
from .helpers import count, snapshot, tree_diff, wait_until


def test_the_refused_second_controller_leaves_the_journal_and_sweep_file_untouched(workdir):
    make_project(workdir, PARAMS.replace("sleep: 0.0", "sleep: 0.2"))
    first = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet"],
                             cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        journal = wait_until(lambda: next((workdir / "experiments" / "_sweeps").glob(
            "*/trials.jsonl"), None), what="the journal")
        wait_until(lambda: journal.read_text().count('"event": "end"') >= 1, what="a trial")
        os.kill(first.pid, signal.SIGSTOP)  # hold the first still, so any change is the second's
        before = snapshot(journal.parent)
        second = run_cli("sweep", "--resume", journal.parent.name)
        count("faults")
        assert_one_line_error(second, f"already being run by pid {first.pid}")
        assert tree_diff(before, snapshot(journal.parent)) == []
        meta = json.loads((journal.parent / "sweep.json").read_text())
        assert meta["status"] == "running"
    finally:
        os.kill(first.pid, signal.SIGCONT)
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
