"""Batches of experiment configs (``exptrack batch DIR``): each YAML file in DIR is a named
experiment, ``name``, ``description``, then keys that override ``params.yaml``.

A batch runs as a sweep over fixed points (the path ``exptrack sweep`` and ``promote`` take: the
same executors, records and re-run lines), where each point is one config's overrides and each
trial's run belongs to the experiment its config names. Every file is checked before anything
runs, so one misspelt key is one line, not a batch that stops half way.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exptrack_core.errors import ExptrackError
from exptrack_core.names import check_name
from exptrack_core.params import flatten, read_yaml_mapping
from exptrack_core.plugin.interfaces import TrialView
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.preflight import PIPELINE_PROGRAM

RESERVED = ("name", "description")


@dataclass
class BatchEntry:
    name: str
    file: Path
    description: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)  # flat, dotted params.yaml keys


def project_keys(params_file: str | os.PathLike) -> dict[str, Any]:
    """The flat keys of params.yaml a config may override (the ``sweep:`` section is the search)."""
    base = read_yaml_mapping(params_file, "params file")
    base.pop("sweep", None)
    return flatten(base)


def read_entry(path: Path, keys: dict[str, Any]) -> BatchEntry:
    data = read_yaml_mapping(path, "experiment config")  # YAML 1.2, as params.yaml is read
    if "name" not in data:
        raise ExptrackError(f"{str(path)!r}: missing 'name' (every experiment config names its "
                            "experiment)")
    try:
        name = check_name("experiment", data["name"])
    except ExptrackError as exc:
        raise ExptrackError(f"{str(path)!r}: {exc}") from None
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise ExptrackError(f"{str(path)!r}: 'description' must be a string, got {description!r}")
    overrides = flatten({k: v for k, v in data.items() if k not in RESERVED})
    for key in overrides:
        if key not in keys:
            close = difflib.get_close_matches(key, list(keys), n=1)
            hint = f"; the closest is {close[0]!r}" if close else ""
            raise ExptrackError(f"{str(path)!r}: unknown key {key!r}: not in params.yaml{hint}")
    return BatchEntry(name, path, description, overrides)


def load_batch(directory: str | os.PathLike, params_file: str | os.PathLike = "params.yaml",
               prefix: str | None = None) -> list[BatchEntry]:
    """The configs of ``directory`` whose file name starts with ``prefix``, in name order, each
    checked against params.yaml; the first bad one raises, naming the file and the key."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ExptrackError(f"batch directory {str(folder)!r} does not exist or is not a directory")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if prefix:
        files = [p for p in files if p.name.startswith(prefix)]
    if not files:
        what = f" starting with {prefix!r}" if prefix else ""
        raise ExptrackError(f"no experiment configs (*.yaml){what} in {str(folder)!r}")
    keys = project_keys(params_file)
    entries: list[BatchEntry] = []
    seen: dict[str, Path] = {}
    for path in files:
        entry = read_entry(path, keys)
        if entry.name in seen:
            raise ExptrackError(f"{str(path)!r}: name {entry.name!r} is also the name in "
                                f"{str(seen[entry.name])!r}; each experiment needs its own")
        seen[entry.name] = path
        entries.append(entry)
    return entries


def batch_config(entries: list[BatchEntry], params_file: str | os.PathLike, label: str) -> SweepConfig:
    """The sweep a batch runs as: the program, command and metric of params.yaml's ``sweep:``
    (how ``exptrack sweep`` runs the pipeline), over the configs' overrides only."""
    p = Path(params_file)
    base = (read_yaml_mapping(p, "params file").get("sweep") or {}) if p.is_file() else {}
    values: dict[str, list] = {}
    for entry in entries:
        for key, value in entry.overrides.items():
            shown = values.setdefault(key, [])
            if all(json.dumps(v, default=str) != json.dumps(value, default=str) for v in shown):
                shown.append(value)
    # a sweep records what it searches; configs that override nothing search nothing
    parameters = {k: {"values": v} for k, v in values.items()} or {
        "train.seed": {"value": project_keys(p).get("train.seed", 0) if p.is_file() else 0}}
    data: dict[str, Any] = {"name": label, "method": "grid", "run_cap": len(entries),
                            "program": base.get("program", PIPELINE_PROGRAM),
                            "parameters": parameters}
    for key in ("command", "metric"):
        if key in base:
            data[key] = base[key]
    return SweepConfig.parse(data, allow_large=True)


class BatchPoints:
    """The strategy of a batch: each config's overrides once, in order, each trial labelled with
    its config's experiment name and description. Points are told apart by trial id, not by
    value: two configs may override the same keys the same way and are still two experiments."""

    def __init__(self, entries: list[BatchEntry]):
        self.entries = entries
        self.assigned: dict[str, int] = {}  # trial id -> index of its entry

    def suggest(self, history: list[TrialView], *, trial_id: str) -> dict[str, Any] | None:
        taken = set(self.assigned.values())  # a killed trial is re-run by the sweep, not here
        for i, entry in enumerate(self.entries):
            if i not in taken:
                self.assigned[trial_id] = i
                return dict(entry.overrides)
        return None

    def label(self, trial_id: str, params: dict[str, Any]) -> tuple[str, str]:
        """(experiment, description) of the run of ``trial_id``; a re-run of a killed trial
        carries its params only, so it is matched by them."""
        if trial_id not in self.assigned:
            self.assigned[trial_id] = next(
                (i for i, e in enumerate(self.entries) if e.overrides == params), 0)
        entry = self.entries[self.assigned[trial_id]]
        return entry.name, entry.description or f"{entry.file.name} (exptrack batch)"


def completed(tracker: Any, name: str) -> bool:
    """Has experiment ``name`` a completed run? (what ``exptrack batch`` skips without --force)"""
    return any(r.get("status") == "completed" for r in tracker.list_runs(name, errors=[]))


__all__ = ["BatchEntry", "BatchPoints", "batch_config", "completed", "load_batch", "read_entry"]
