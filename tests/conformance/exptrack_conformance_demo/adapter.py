"""The trial adapter for ``toylog`` scripts: unchanged, they run as sweep trials.

``handles`` looks at the trial's program for ``import toylog``; ``prepare`` hands the script its
params and a log directory in the trial's run directory; the follower copies the script's log
into the trial's run through the tracker, as it grows, so the sweep ranks and stops it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exptrack.plugin import Tracker, TrialLaunch

from .toylog import FILE


class ToylogAdapter:
    def handles(self, trial: TrialLaunch) -> bool:
        if trial.objective is not None or not trial.program:
            return False
        try:
            source = (Path(trial.cwd or ".") / trial.program).read_text()
        except OSError:
            return False
        return "import toylog" in source or "from exptrack_conformance_demo import toylog" in source

    def prepare(self, trial: TrialLaunch, space: Any) -> None:
        trial.env["TOYLOG_PARAMS"] = json.dumps(trial.params)
        trial.env["TOYLOG_DIR"] = str(trial.run_dir)

    def follow(self, tracker: Tracker, trial: TrialLaunch) -> "ToylogFollower":
        return ToylogFollower(tracker, trial.run_id, Path(trial.run_dir) / FILE)


class ToylogFollower:
    def __init__(self, tracker: Tracker, run_id: str, path: Path):
        self.tracker, self.run_id, self.path, self.offset = tracker, run_id, path, 0

    def poll(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return 0
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line being written waits
        self.offset += len(complete)
        rows = [line.decode().split(",") for line in complete.splitlines()]
        for step, name, value, ts in rows:
            self.tracker.log_metrics(self.run_id, {name: float(value)}, int(step), float(ts))
        return len(rows)

    def finish(self) -> None:
        self.poll()
