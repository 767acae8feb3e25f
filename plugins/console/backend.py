"""Prints a run's stream to stderr, one line per logged step."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.plugin.interfaces import RunInfo


class ConsoleBackend:
    def __init__(self, run: RunInfo, options: Mapping[str, Any] | None = None):
        self.prefix = f"[{run.experiment}/{run.run_id}]"
        self.stream = sys.stderr

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None:
        where = f"step {step}" if step is not None else "final"
        values = "  ".join(f"{k}={v:.6g}" for k, v in metrics.items())
        print(f"{self.prefix} {where}: {values}", file=self.stream, flush=True)

    def log_artifact(self, path: Path, name: str) -> None:
        print(f"{self.prefix} artifact {name}", file=self.stream, flush=True)

    def finish(self, status: str) -> None:
        print(f"{self.prefix} {status}", file=self.stream, flush=True)
