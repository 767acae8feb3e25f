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
    program: str | None = None                       # the sweep's program, as its file names it
    recorded: dict[str, Any] | None = None           # params as recorded: what files may hold
                                                     # (a secret given with -S redacted)
    pid: int | None = None  # set by an executor that starts a process (it leads its own group)


@dataclass
class TrialExit:
    trial: TrialLaunch
    returncode: int
    error: str | None = None        # the tail of stderr, or the exception, when it failed
    result: Any = None              # what an in-process objective returned
    lost: str | None = None         # why the executor lost the trial's process (a node or worker
                                    # died, no exit status seen): the trial ends crashed


def stderr_tail(path: Path, limit: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode(errors="replace").strip()
    except OSError:
        return ""


def redacted_stderr(trial: TrialLaunch) -> str:
    """Redact the trial's ``stderr.log`` in place and return its tail: an argparse error echoing
    ``--api_key=...`` must not leave the key in the log, the run's note, the journal or the console
    (all of which get this tail). Secrets: the values of secret-named environment variables (the
    controller's and the trial's), of secret-named params, and what follows secret-named flags."""
    import os

    from exptrack_core.files import write_text
    from exptrack_core.secrets import redact_text, secret_param_values

    path = trial.run_dir / "stderr.log"
    values = secret_param_values(trial.params)
    try:
        import json

        from exptrack_core.params import flatten
        values += secret_param_values(flatten(json.loads((trial.run_dir / "params.json").read_text())))
    except (OSError, ValueError, AttributeError):
        pass  # the sweep's own params are still redacted
    try:
        text = path.read_bytes().decode(errors="replace")
    except OSError:
        return ""
    clean = redact_text(text, {**os.environ, **trial.env}, values)
    if clean != text:
        try:
            write_text(path, clean)
        except OSError:
            pass  # the tail below is redacted even so
    return clean[-2000:].strip()


__all__ = ["TrialExit", "TrialLaunch", "redacted_stderr", "stderr_tail"]
