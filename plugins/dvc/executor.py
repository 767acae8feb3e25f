"""Runs each trial as a DVC experiment: ``dvc exp run --temp -n SWEEP-TRIAL -S key=value ...``.

``--temp`` experiments run in their own copy of the workspace, so several can run at once
(``--workers N``) and the workspace's params.yaml is never left with a trial's values. The trial
logs into the sweep's experiments directory (an absolute ``EXPTRACK_DIR``), so early stopping and
the sweep's record work as for local processes; DVC records the params, metrics and checkpoints
of each trial as an experiment that ``dvc exp show`` lists and ``dvc exp apply NAME`` restores.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.sweep.launch import TrialLaunch
from exptrack_core.overrides import hydra_value
from exptrack_core.params import flatten, read_yaml_mapping

from exptrack_plugins.executors.process import ProcessExecutor

DVC_BACKENDS = "local,dvc"  # trials write DVC's metrics and plots files inside their experiment


def check_dvc_repo(cwd: Path) -> None:
    if shutil.which("dvc") is None:
        raise ExptrackError("--executor dvc needs DVC: pip install dvc")
    git = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True,
                         text=True)
    if git.returncode != 0:
        raise ExptrackError(f"--executor dvc needs a git repository, and {str(cwd)!r} is not in "
                            "one: run 'git init && dvc init && git add -A && git commit -m init'")
    if not (cwd / ".dvc").is_dir() and not (Path(git.stdout.strip()) / ".dvc").is_dir():
        raise ExptrackError(f"--executor dvc needs a DVC project, and {str(cwd)!r} has no .dvc/: "
                            "run 'dvc init && git commit -m \"dvc init\"'")
    if not (cwd / "dvc.yaml").is_file():
        raise ExptrackError(f"--executor dvc needs a dvc.yaml in {str(cwd)!r} with the stages to run")
    head = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=cwd, capture_output=True)
    if head.returncode != 0:
        raise ExptrackError("--executor dvc needs at least one git commit: "
                            "run 'git add -A && git commit -m init'")


def set_flags(params: Mapping[str, Any], known: set[str]) -> list[str]:
    """``-S key=value`` for each param, quoted so DVC's Hydra grammar gives back the same value and
    type. A key params.yaml lacks needs ``+``; a section, or a dict or list value, is deleted first
    (``~key``) and added again, because ``key={...}`` would merge into it."""
    out = []
    for key, value in params.items():
        section = any(k.startswith(key + ".") for k in known)
        text = hydra_value(value)
        if section or (key in known and isinstance(value, (Mapping, list))):
            out += ["-S", f"~{key}", "-S", f"+{key}={text}"]
        else:
            out += ["-S", f"{'' if key in known else '+'}{key}={text}"]
    return out


class DvcExecutor(ProcessExecutor):
    default_backends = DVC_BACKENDS

    def __init__(self, options: Mapping[str, Any] | None = None):
        options = dict(options or {})
        self.cwd = Path(options.get("cwd") or Path.cwd())
        check_dvc_repo(self.cwd)
        params_file = self.cwd / "params.yaml"
        self.known = set(flatten(read_yaml_mapping(params_file))) if params_file.is_file() else set()
        super().__init__(options)

    def launch(self, trial: TrialLaunch) -> None:
        trial.argv = ["dvc", "exp", "run", "--temp", "-n", trial.name,
                      *set_flags(trial.params, self.known)]
        super().launch(trial)


__all__ = ["DvcExecutor", "check_dvc_repo", "set_flags"]
