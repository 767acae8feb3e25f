"""Eight processes logging 1,000 steps each into the same directory at the same moment: every value
is there exactly once, no line is corrupt, and every run has its own id."""

from __future__ import annotations

import subprocess
import sys
import warnings

from exptrack_plugins.local.files import TornRecordWarning
from exptrack_plugins.local.tracker import LocalTracker

from .helpers import count

WRITERS, STEPS = 8, 1000

WRITER = """
import sys, exptrack
w = int(sys.argv[1])
sys.stdin.readline()  # the starting gun: every writer logs at the same time
with exptrack.init(experiment="shared", params={"writer": w}) as run:
    for step in range(%d):
        run.log({"value": w * 100_000 + step, "square": float(step * step)}, step=step)
""" % STEPS


def test_eight_concurrent_writers_lose_nothing_and_share_no_run_id(workdir):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(w)], cwd=workdir,
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(WRITERS)]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(120) == 0, p.stderr.read()
    count("faults")  # a race of eight writers
    with warnings.catch_warnings():
        warnings.simplefilter("error", TornRecordWarning)  # a single corrupt line fails the test
        tracker = LocalTracker("experiments")
        runs = tracker.list_runs("shared")
        assert len(runs) == WRITERS and len({r["run_id"] for r in runs}) == WRITERS
        seen = []
        for summary in runs:
            record = tracker.get_run(summary["run_id"])
            w = record["params"]["writer"]
            assert record["status"] == "completed"
            values = [(p["step"], p["value"]) for p in record["metrics"]["value"]]
            assert values == [(s, float(w * 100_000 + s)) for s in range(STEPS)]
            squares = [p["value"] for p in record["metrics"]["square"]]
            assert squares == [float(s * s) for s in range(STEPS)]
            lines = (record["run_dir"] + "/metrics.csv")
            assert sum(1 for _ in open(lines)) == 1 + 2 * STEPS
            seen += [v for _, v in values]
    assert len(seen) == len(set(seen)) == WRITERS * STEPS  # every value exactly once
    count("records checked", 2 * WRITERS * STEPS)
    count("records lost", 2 * WRITERS * STEPS - 2 * len(seen))
