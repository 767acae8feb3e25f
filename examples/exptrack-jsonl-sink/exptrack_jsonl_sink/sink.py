"""A logging backend writing each event of a run as one line of JSON."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Mapping

from exptrack.plugin import ExptrackError, RunInfo

OPTIONS = ("path",)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class JsonlSink:
    """``factory(run, options)`` as exptrack's backend contract asks; options: ``path``."""

    def __init__(self, run: RunInfo, options: Mapping[str, Any] | None = None):
        options = dict(options or {})
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ExptrackError(f"unknown option {unknown[0]!r} for backend 'jsonl'; "
                                f"accepted: {', '.join(OPTIONS)}")
        path = options.get("path") or Path(run.run_dir) / "events.jsonl"
        if not isinstance(path, (str, Path)):
            raise ExptrackError(f"invalid option path={path!r} for backend 'jsonl'; "
                                "expected a file path")
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._write("start", run_id=run.run_id, experiment=run.experiment,
                    params=dict(run.params), sweep_id=run.sweep_id, trial_id=run.trial_id)

    def _write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": time.time(), **fields}, default=str,
                          allow_nan=False)
        self._file.write(line + "\n")
        self._file.flush()

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._write("params", params=dict(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None:
        values = {k: _finite_or_none(float(v)) for k, v in metrics.items()}
        self._write("metrics", step=step, timestamp=timestamp, metrics=values)

    def log_artifact(self, path: Path, name: str) -> None:
        self._write("artifact", name=name, path=str(path))

    def finish(self, status: str) -> None:
        self._write("finish", status=status)
        self._file.close()


__all__ = ["JsonlSink"]
