"""Unchanged W&B training scripts as sweep trials, offline.

A trial gets what ``wandb agent`` would give it: ``WANDB_SWEEP_ID``, ``WANDB_RUN_ID`` and a
``WANDB_SWEEP_PARAM_PATH`` file, so ``wandb.init()`` puts the trial's params in ``wandb.config``;
``WANDB_MODE=offline`` and ``WANDB_DIR`` (the trial's run directory) keep everything on disk. The
controller then follows the trial's ``.wandb`` record file as it grows and copies its history into
the trial's exptrack run, so the sweep metric, early stopping, compare and best all work. The W&B
run stays syncable with ``wandb sync``.
"""

from __future__ import annotations

import numbers
import os
import time
from pathlib import Path
from typing import Any, Mapping

PARAMS_FILE = "wandb-sweep-params.yaml"


def write_param_file(path: Path, params: Mapping[str, Any]) -> None:
    """The file behind ``wandb.config``, byte for byte as ``save_config_file_from_dict`` in wandb's
    ``sdk/lib/config_util.py`` writes it for the agent: one ``{value: ...}`` per W&B name."""
    import yaml

    text = b"wandb_version: 1"
    if params:
        text += b"\n\n" + yaml.dump({k: {"value": v} for k, v in params.items()},
                                    Dumper=yaml.SafeDumper, default_flow_style=False,
                                    allow_unicode=True, encoding="utf-8", sort_keys=False)
    path.write_bytes(text)


def agent_env(run_dir: Path, run_id: str, sweep_id: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The environment ``wandb agent`` sets for a run, pointing at files in ``run_dir``.

    ``params`` is the trial as W&B names it (``ParamSpace.agent_args``): dotted names stay flat.
    """
    path = run_dir / PARAMS_FILE
    write_param_file(path, params)
    return {"WANDB_MODE": os.environ.get("WANDB_MODE", "offline"), "WANDB_DIR": str(run_dir),
            "WANDB_SWEEP_ID": sweep_id, "WANDB_RUN_ID": run_id.replace("-", ""),
            "WANDB_SWEEP_PARAM_PATH": str(path), "WANDB_SILENT": "true",
            "WANDB_CONSOLE": "off",
            # W&B flushes the .wandb file every 15 s by default; the sweep reads it to stop trials
            "WANDB__TRANSACTION_LOG_FLUSH_INTERVAL":
                os.environ.get("WANDB__TRANSACTION_LOG_FLUSH_INTERVAL", "0.5")}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


class WandbFollower:
    """Copies a W&B-only trial's offline history into its exptrack run, as the file grows."""

    def __init__(self, tracker: Any, run_id: str, run_dir: Path):
        self.tracker, self.run_id, self.run_dir = tracker, run_id, Path(run_dir)
        self.file: Any = None
        self.active: bool | None = None  # None: not known yet; False: the program logs itself
        self.keys: set[str] = set()

    def _attach(self) -> bool:
        from exptrack_plugins.wandb.records import WandbRunFile, find_run_files

        found = find_run_files(self.run_dir / "wandb")
        if not found:
            return False
        context = self.tracker.get_run(self.run_id).get("context") or {}
        # A program that called exptrack.init() joined the run (it recorded where it runs, its
        # pid included): it logs to exptrack itself, and following its W&B files would count
        # everything twice. Any tracker says so through its API.
        self.active = context.get("pid") is None
        if self.active:
            self.file = WandbRunFile(found[-1])
        return self.active

    def poll(self) -> int:
        """Import what was written since the last poll; returns how many history rows."""
        if self.active is False or (self.file is None and not self._attach()):
            return 0
        before = len(self.file.history)
        self.file.update()
        rows = self.file.history[before:]
        for row in rows:
            values = {k: v for k, v in ((k, _number(v)) for k, v in row.items()
                                        if not k.startswith("_")) if v is not None}
            if values:
                self.keys.update(values)
                ts = _number(row.get("_timestamp")) or time.time()
                self.tracker.log_metrics(self.run_id, values, row.get("_step"), ts)
        return len(rows)

    def finish(self) -> None:
        """Last rows, and summary values the script set without logging them as history."""
        if self.poll() == 0 and self.file is None:
            return
        finals = {k: _number(v) for k, v in self.file.summary.items() if k not in self.keys
                  and not k.startswith("_")}
        finals = {k: v for k, v in finals.items() if v is not None}
        if finals:
            self.tracker.log_metrics(self.run_id, finals, None, time.time())


class WandbAdapter:
    """The trial adapter for W&B scripts (``register_trial_adapters``): any program trial may be
    one, so each gets the agent's environment, and its follower stays idle if the program logs to
    exptrack itself."""

    def handles(self, trial: Any) -> bool:
        return trial.objective is None

    def prepare(self, trial: Any, space: Any) -> None:
        from exptrack_core.run import ENV_SWEEP_ID

        sweep_id = trial.env.get(ENV_SWEEP_ID, "")
        # W&B's names: flat, nested blocks renested, as `wandb agent` hands them over; the
        # file holds the recorded params (a secret given with -S reaches the script only
        # through its environment)
        params = trial.recorded if trial.recorded is not None else trial.params
        trial.env.update(agent_env(trial.run_dir, trial.run_id, sweep_id, space.agent_args(params)))

    def follow(self, tracker: Any, trial: Any) -> WandbFollower:
        return WandbFollower(tracker, trial.run_id, trial.run_dir)


__all__ = ["PARAMS_FILE", "WandbAdapter", "WandbFollower", "agent_env", "write_param_file"]
