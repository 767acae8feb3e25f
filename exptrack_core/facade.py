"""``ExperimentTracker``: the run-id-based API of the classic local JSON trackers, on exptrack's store."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

from exptrack_core import context as run_context
from exptrack_core.errors import ExptrackError
from exptrack_core.names import check_metrics, check_step
from exptrack_core.query import best_run, runs_frame
from exptrack_core.run import get_tracker


class ExperimentTracker:
    """Runs addressed by id: ``create_run`` -> ``log_params``/``log_metrics``/``log_artifact`` ->
    ``finish_run``; then ``get_run``, ``list_runs``, ``compare_runs``, ``get_best_run``."""

    def __init__(self, base_dir: str | os.PathLike = "experiments"):
        self.base_dir = Path(base_dir)
        self._tracker = get_tracker(self.base_dir)

    def create_run(self, experiment_name: str, tags: Mapping[str, Any] | None = None,
                   description: str = "") -> str:
        return self._tracker.create_run(
            experiment_name, tags={str(k): str(v) for k, v in (tags or {}).items()},
            description=description, context=run_context.capture())

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        if not isinstance(params, Mapping):
            raise ExptrackError(f"params must be a mapping, got {type(params).__name__}")
        self._tracker.log_params(run_id, params)

    def log_metrics(self, run_id: str, metrics: Mapping[str, Any], step: int | None = None) -> None:
        self._tracker.run_dir(run_id)  # an unknown id fails before anything is written
        values, step = check_metrics(metrics), check_step(step)
        self._tracker.log_metrics(run_id, values, step, time.time())

    def log_artifact(self, run_id: str, path: str | os.PathLike,
                     artifact_name: str | None = None) -> str:
        src = Path(path)
        return str(self._tracker.log_artifact(run_id, src, artifact_name or src.name))

    def finish_run(self, run_id: str, status: str = "completed") -> None:
        if status not in ("completed", "failed", "killed"):
            raise ExptrackError(
                f"invalid status {status!r}; expected 'completed', 'failed' or 'killed'")
        self._tracker.set_status(run_id, status)
        self._tracker.close(run_id)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._tracker.get_run(run_id)

    def list_runs(self, experiment_name: str | None = None) -> list[dict[str, Any]]:
        return self._tracker.list_runs(experiment_name)

    def compare_runs(self, run_ids: list[str]):
        return runs_frame(self._tracker.read_run(self._tracker.run_dir(r)) for r in run_ids)

    def get_best_run(self, metric: str, experiment_name: str | None = None,
                     mode: str = "max") -> dict[str, Any] | None:
        runs = self._tracker.list_runs(experiment_name)
        if not runs:
            return None
        found = best_run(runs, metric, mode)
        return None if found is None else self.get_run(found[0]["run_id"])


__all__ = ["ExperimentTracker"]

