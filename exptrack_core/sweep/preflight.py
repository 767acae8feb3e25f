"""What a sweep can know about itself before (or right after) its first trial: is it the DVC
pipeline, do its keys exist, does its metric get logged. Each check turns a sweep that cannot
work into one line, instead of a run of identical failures."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Mapping

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


__all__ = ["PIPELINE_PROGRAM", "is_pipeline"]
