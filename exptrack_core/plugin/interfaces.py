"""The shapes plugins implement. Plain protocols: a plugin needs no base class from exptrack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, runtime_checkable

# What a run can end as. "running" is the only unfinished one; a running run whose process is
# gone is shown as "crashed" by readers (it is never written as such).
STATUSES = ("running", "completed", "failed", "killed", "pruned")
FINAL_STATUSES = ("completed", "failed", "killed", "pruned")


@dataclass
class RunInfo:
    """What a backend is told about the run it mirrors."""

    run_id: str
    experiment: str
    run_dir: Path
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    sweep_id: str | None = None
    trial_id: str | None = None


@runtime_checkable
class Tracker(Protocol):
    root: Path

    def create_run(self, experiment: str, *, params: Mapping[str, Any] | None = None,
                   tags: Mapping[str, str] | None = None, description: str = "",
                   context: Mapping[str, Any] | None = None, sweep_id: str | None = None,
                   trial_id: str | None = None) -> str: ...

    def run_dir(self, run_id: str) -> Path: ...

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int | None,
                    timestamp: float) -> None: ...

    def log_artifact(self, run_id: str, path: Path, name: str) -> Path: ...

    def set_status(self, run_id: str, status: str, *, note: str | None = None) -> None: ...

    def get_run(self, run_id: str) -> dict[str, Any]: ...

    def list_runs(self, experiment: str | None = None) -> list[dict[str, Any]]: ...

    def close(self, run_id: str) -> None: ...


@runtime_checkable
class Backend(Protocol):
    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None: ...

    def log_artifact(self, path: Path, name: str) -> None: ...

    def finish(self, status: str) -> None: ...


@runtime_checkable
class SearchStrategy(Protocol):
    def suggest(self, history: list[dict[str, Any]]) -> dict[str, Any] | None: ...


@runtime_checkable
class EarlyStopper(Protocol):
    def should_stop(self, trial_id: str, curves: Mapping[str, list[tuple[int, float]]]) -> bool: ...


@runtime_checkable
class Executor(Protocol):
    def launch(self, trial: Any) -> None: ...

    def poll(self) -> Iterable[Any]: ...

    def cancel_all(self) -> None: ...


__all__ = ["Backend", "EarlyStopper", "Executor", "FINAL_STATUSES", "RunInfo", "STATUSES",
           "SearchStrategy", "Tracker"]
