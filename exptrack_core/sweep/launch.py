"""What an executor is handed: one trial, ready to start, and what it reports when it ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class TrialLaunch:
    trial_id: str
    run_id: str
    params: dict[str, Any]          # the trial's flat params
    env: dict[str, str]             # EXPTRACK_* variables that make the program join its trial
    run_dir: Path
    argv: list[str] = field(default_factory=list)    # for process executors
    cwd: Path | None = None
    objective: Callable[..., Any] | None = None      # for the in-process executor
    cleanup: list[Path] = field(default_factory=list)  # temp files to remove when it ends
    name: str = ""                                   # e.g. the DVC experiment name


@dataclass
class TrialExit:
    trial: TrialLaunch
    returncode: int
    error: str | None = None        # the tail of stderr, or the exception, when it failed
    result: Any = None              # what an in-process objective returned


def stderr_tail(path: Path, limit: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode(errors="replace").strip()
    except OSError:
        return ""


__all__ = ["TrialExit", "TrialLaunch", "stderr_tail"]
