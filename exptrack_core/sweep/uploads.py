"""The one line a sweep ends with when its trials logged to W&B offline: what to ``wandb sync``.

Each trial's W&B backend says how to upload in that trial's own ``stderr.log``, which nobody
reads; the sweep looks for the trials' offline W&B runs (``<run dir>/wandb/offline-run-*``,
whether written by exptrack's backend or by an unchanged W&B script under the agent's
``WANDB_DIR``) and names them once. Only files are looked at: wandb is never imported.
"""

from __future__ import annotations

import glob
import os
import shlex
from pathlib import Path
from typing import Any, Iterable

OFFLINE_RUNS = ("wandb", "offline-run-*")


def offline_runs(run_dirs: Iterable[Path]) -> list[Path]:
    """The offline W&B run directories (those holding a ``.wandb`` record) under ``run_dirs``."""
    return sorted({f.parent for d in run_dirs for f in Path(d).glob("/".join(OFFLINE_RUNS) + "/*.wandb")})


def _shown(path: Path) -> str:
    """``path`` relative to here when it is below here (what a user types), quoted for a shell."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        rel = str(path)
    return shlex.quote(str(path) if rel.startswith("..") else rel)


def sync_command(found: list[Path]) -> str:
    """``wandb sync`` with one glob naming exactly ``found`` when they share an experiment
    directory and nothing else there matches it; else the run directories themselves."""
    experiments = {p.parents[2] for p in found}  # <experiment>/<run_id>/wandb/offline-run-*
    if len(experiments) == 1:
        experiment = experiments.pop()
        pattern = Path(glob.escape(str(experiment)), "*", *OFFLINE_RUNS)
        if {Path(p) for p in glob.glob(str(pattern))} == set(found):
            return f"wandb sync {_shown(experiment)}/*/{'/'.join(OFFLINE_RUNS)}"
    return "wandb sync " + " ".join(_shown(p) for p in found)


def upload_hint(trials: Iterable[Any], tracker: Any) -> str | None:
    """One line naming what to sync, or None when no trial used W&B offline."""
    dirs = []
    for t in trials:
        try:
            dirs.append(Path(tracker.run_dir(t.run_id)))
        except Exception:  # noqa: BLE001 - a run the tracker lost has nothing to upload
            continue
    found = offline_runs(dirs)
    if not found:
        return None
    return (f"W&B: {len(found)} trial run(s) were logged offline; upload them with: "
            f"{sync_command(found)}")


__all__ = ["offline_runs", "sync_command", "upload_hint"]
