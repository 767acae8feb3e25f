"""What a sweep can know about itself before (or right after) its first trial: is it the DVC
pipeline, do its keys exist, does its metric get logged. Each check turns a sweep that cannot
work into one line, instead of a run of identical failures."""

from __future__ import annotations

import difflib
from pathlib import PurePosixPath
from typing import Any, Iterable, Mapping

PIPELINE_PROGRAM = "stages/train.py"  # dvc.yaml's train stage: params come from params.yaml


def is_pipeline(config: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> bool:
    """Does the sweep run the DVC pipeline (its train stage, or ``--executor dvc``)? Only then is
    ``dvc exp run -S ...`` the way to re-run a trial and params.yaml the keys' reference."""
    if (settings or {}).get("executor") == "dvc":
        return True
    program = config.get("program")
    if program is None:
        return not config.get("command")
    return PurePosixPath(str(program).replace("\\", "/")).as_posix().lstrip("./") == PIPELINE_PROGRAM


def unlogged_metric(metric: str | None, trials: Iterable[Any], tracker: Any) -> str | None:
    """Why the sweep must stop, when its first completed trial never logged the sweep's metric
    and no trial has: every further trial would end the same way (a misspelt ``val_accc``)."""
    if metric is None:
        return None
    ended = None
    for t in trials:
        if t.value is not None:
            return None
        if ended is None and t.status == "completed":
            ended = t
    if ended is None:
        return None
    try:
        logged = list((tracker.read_run(tracker.run_dir(ended.run_id)).get("summary") or {}))
    except Exception:  # the run's record is unreadable: say so rather than guess
        logged = []
    if metric in logged:
        return None  # logged, but not as a number: ranking says so, not this check
    close = difflib.get_close_matches(metric, logged, n=1)
    return (f"stopped: the sweep's metric {metric!r} was never logged; trial {ended.trial_id} "
            f"completed with {', '.join(logged) or 'no metrics'}"
            + (f" (did you mean {close[0]!r}?)" if close else ""))


__all__ = ["PIPELINE_PROGRAM", "is_pipeline", "unlogged_metric"]
