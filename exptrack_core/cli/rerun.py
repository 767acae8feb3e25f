"""The command that re-runs a sweep's trial: ``dvc exp run -S ...`` for the DVC pipeline, the
trial's own argv (with its params in EXPTRACK_PARAMS) for any other program."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.params import PARAMS_ENV, flatten
from exptrack_core.sweep.preflight import is_pipeline


def program_command(params: Mapping[str, Any], argv: list[str]) -> str:
    """``env EXPTRACK_PARAMS='{...}' ARGV``: the argv alone loses the params a trial read from
    the environment (``exptrack.load_params()``), so they travel with it."""
    parts = ["env", f"{PARAMS_ENV}={json.dumps(flatten(dict(params)), default=str)}", *argv]
    return shlex.join(parts)


def trial_argv(tracker: Any, run_id: str, params: Mapping[str, Any],
               config: Mapping[str, Any]) -> list[str]:
    """The argv the trial recorded in its context, else the sweep's command expanded again."""
    try:
        command = (tracker.get_run(run_id).get("context") or {}).get("command")
    except Exception:  # an unreadable run still has a command: the expanded one
        command = None
    if command:
        return [str(c) for c in command]
    from exptrack_core.sweep.macros import expand_command

    # a ${args_json_file} is written anew and left in place: the re-run reads it
    return expand_command(dict(params), config.get("command"), program=config.get("program")).argv


def trial_rerun(meta: Mapping[str, Any], tracker: Any, run: Mapping[str, Any],
                trial_params: Mapping[str, Any] | None, dvc_line) -> str:
    """The re-run line for a trial of the sweep recorded in ``meta``; ``dvc_line(params)`` gives
    the ``dvc exp run`` line for pipeline sweeps (and for runs of no readable sweep)."""
    config = meta.get("config") or {}
    if not meta or is_pipeline(config, meta.get("settings")):
        return dvc_line(run.get("params") or {})
    params = trial_params if trial_params is not None else run.get("params") or {}
    return program_command(params, trial_argv(tracker, run["run_id"], params, config))


def trial_params(root: str | os.PathLike, sweep_id: str, trial_id: str | None) -> dict[str, Any] | None:
    """The flat params a sweep gave one trial (its journal), or None when unknown."""
    from exptrack_core.sweep.journal import SweepStore

    try:
        trial = SweepStore(Path(root), sweep_id).trials().get(trial_id or "")
    except (OSError, ValueError):
        return None
    return dict(trial.params) if trial else None


__all__ = ["program_command", "trial_argv", "trial_params", "trial_rerun"]
