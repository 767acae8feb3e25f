"""What a sweep can know about itself before (or right after) its first trial: is it the DVC
pipeline, do its keys exist, does its metric get logged. Each check turns a sweep that cannot
work into one line, instead of a run of identical failures."""

from __future__ import annotations

import difflib
import os
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping

from exptrack_core.errors import ExptrackError

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


def check_swept_keys(names: Iterable[str], params_file: str | os.PathLike) -> None:
    """Every swept name is a key (or section) of params.yaml: the pipeline reads only those, so
    ``train.lrr`` would run every trial with the default lr and rank noise."""
    p = Path(params_file)
    if not p.is_file():
        return
    from exptrack_core.params import flatten, read_yaml_mapping

    base = read_yaml_mapping(p, "params file")
    base.pop("sweep", None)  # the search itself, not a hyperparameter
    keys = list(flatten(base))
    sections = {k.rsplit(".", i)[0] for k in keys for i in range(1, k.count(".") + 1)}
    for name in names:
        if name not in keys and name not in sections:
            close = difflib.get_close_matches(name, keys, n=1)
            hint = f"; the closest is {close[0]!r}" if close else ""
            raise ExptrackError(f"swept key {name!r} is not in {str(p)!r}, which the pipeline "
                                f"reads its params from{hint}")


PIPELINE_CHECKS = "stages/checks.py"  # the train stage's checks, runnable without torch


def check_first_trial(params: Mapping[str, Any], cwd: str | os.PathLike = ".") -> None:
    """Run the pipeline's own parameter checks on trial 1's params, in a child process as the
    stage would (its code is the project's, not exptrack's): ``-S train.lr=abc`` becomes one
    line now instead of --max-failures failed trials."""
    script = Path(cwd) / PIPELINE_CHECKS
    if not script.is_file():
        return
    import json
    import subprocess
    import sys

    from exptrack_core.params import PARAMS_ENV

    env = {**os.environ, PARAMS_ENV: json.dumps(dict(params), default=str)}
    proc = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.splitlines() if l.strip()] or [f"exit code {proc.returncode}"]
        why = lines[-1].removeprefix("error: ")
        raise ExptrackError(f"trial 1's params fail the pipeline's checks ({PIPELINE_CHECKS}): {why}")


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


__all__ = ["PIPELINE_CHECKS", "PIPELINE_PROGRAM", "check_first_trial", "check_swept_keys",
           "is_pipeline", "unlogged_metric"]
