"""Shipping a run directory from a node to the controller, with no shared filesystem.

On the node a trial logs into a node-local copy of its run directory; ``RunScanner`` notices what
changed since the last scan and describes it as a ``batch`` (plain data, sent through Ray);
``apply_batch`` on the controller writes it into the controller's run through its tracker:

- ``metrics.csv``: the whole lines appended since the last scan, as (step, name, value, ts)
  rows, logged with ``tracker.log_metrics`` (so the summary and every reader stay right);
- ``meta.json``: status and note, set with ``tracker.set_status``;
- ``params.json`` / ``context.json``: ``tracker.log_params`` / ``tracker.log_context``;
- every other file (artifacts, checkpoints, W&B offline files, stdout/stderr): its bytes, appended
  from the last shipped offset for append-only kinds (logs, W&B's ``.wandb``), else whole.

Dot files (the writer's lock, the stop flag) and ``summary.json`` (a cache) stay on the node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from exptrack_core.files import replacing

RECORD_FILES = ("metrics.csv", "meta.json", "params.json", "context.json", "summary.json")
APPEND_SUFFIXES = (".log", ".wandb", ".jsonl", ".txt", ".csv")  # only ever appended to
CHUNK = 8 << 20  # bytes of one file per batch; the rest comes with the next


def snapshot(run_dir: Path) -> dict[str, bytes]:
    """The files of a run directory (at launch: small), to recreate it on the node."""
    out = {}
    for path in _files(run_dir):
        if path.stat().st_size <= 256 << 20:
            out[path.relative_to(run_dir).as_posix()] = path.read_bytes()
    return out


def _files(run_dir: Path):
    for dirpath, dirnames, filenames in os.walk(run_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath) / name
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                yield path


class RunScanner:
    """Node side: what changed in ``run_dir`` since the last ``scan``."""

    def __init__(self, run_dir: Path):
        from exptrack_plugins.local.files import complete_size

        self.dir = run_dir
        self.seen: dict[str, tuple[int, int]] = {}   # relpath -> (size, mtime_ns) shipped
        self.sent: dict[str, int] = {}               # append-only relpath -> bytes shipped
        for path in _files(run_dir):                 # what the controller already has
            rel, st = path.relative_to(run_dir).as_posix(), path.stat()
            self.seen[rel] = (st.st_size, st.st_mtime_ns)
            self.sent[rel] = complete_size(path) if rel == "metrics.csv" else st.st_size
        self.partial: set[str] = set()              # files sent in pieces, not done
        self.meta: tuple[Any, Any] | None = None

    def scan(self) -> dict[str, Any]:
        batch: dict[str, Any] = {"rows": [], "files": []}
        for path in _files(self.dir):
            rel = path.relative_to(self.dir).as_posix()
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if self.seen.get(rel) == (st.st_size, st.st_mtime_ns):
                continue
            self.seen[rel] = (st.st_size, st.st_mtime_ns)
            try:
                self._changed(rel, path, st.st_size, batch)
            except (OSError, ValueError):
                self.seen.pop(rel, None)  # mid-rewrite: read it again next time
        return batch

    def _changed(self, rel: str, path: Path, size: int, batch: dict[str, Any]) -> None:
        if rel == "metrics.csv":
            from exptrack_plugins.local.files import complete_size, iter_history

            start, end = self.sent.get(rel, 0), complete_size(path)
            if end > start:
                batch["rows"] += list(iter_history(path, start))
                self.sent[rel] = end
            if end < size:
                self.seen.pop(rel, None)  # a half line: look again next scan
        elif rel == "meta.json":
            meta = json.loads(path.read_text())
            state = (meta.get("status"), meta.get("note"))
            if state != self.meta:
                self.meta = batch["meta"] = state
        elif rel in ("params.json", "context.json"):
            batch[rel.split(".")[0]] = json.loads(path.read_text())
        elif rel == "summary.json":
            return
        else:
            start = self.sent.get(rel, 0)
            if not (rel in self.partial or (rel.endswith(APPEND_SUFFIXES) and size >= start)):
                start = 0  # rewritten: sent whole again
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read(CHUNK)
            batch["files"].append((rel, start or None, data))
            self.sent[rel] = start + len(data)
            if start + len(data) < size:  # the rest comes with the next batch
                self.partial.add(rel)
                self.seen.pop(rel, None)
            else:
                self.partial.discard(rel)


def apply_batch(tracker: Any, run_id: str, batch: dict[str, Any],
                extra_context: dict[str, Any] | None = None) -> int:
    """Write what a node shipped into the controller's run; returns how many values came."""
    run_dir = Path(tracker.run_dir(run_id))
    rows = batch.get("rows") or []
    _log_rows(tracker, run_id, rows)
    if batch.get("params"):
        tracker.log_params(run_id, batch["params"])
    if batch.get("context") is not None and hasattr(tracker, "log_context"):
        tracker.log_context(run_id, {**batch["context"], **(extra_context or {})})
    for rel, offset, data in batch.get("files") or []:
        _write_file(run_dir, rel, offset, data)
    if batch.get("meta"):
        status, note = batch["meta"]
        if status:
            tracker.set_status(run_id, status, note=note)
    return len(rows)


def _log_rows(tracker: Any, run_id: str, rows: list) -> None:
    """One ``log_metrics`` call per logged step (rows of one ``run.log`` share step and time)."""
    group: dict[str, float] = {}
    key = None
    for step, name, value, ts in rows:
        if (step, ts) != key or name in group:
            if group:
                tracker.log_metrics(run_id, group, key[0], key[1])
            group, key = {}, (step, ts)
        group[name] = value
    if group:
        tracker.log_metrics(run_id, group, key[0], key[1])


def _write_file(run_dir: Path, rel: str, offset: int | None, data: bytes) -> None:
    """A shipped file, only ever inside the run directory and never through a link in it."""
    parts = Path(rel).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") for p in parts) or Path(rel).is_absolute():
        return
    dest = run_dir
    for part in parts:
        dest = dest / part
        if dest.is_symlink():
            os.unlink(dest)  # planted: replaced by the shipped content, never written through
    dest.parent.mkdir(parents=True, exist_ok=True)
    if offset is None:
        with replacing(dest) as tmp:  # a reader sees the old file or the new one, never half
            tmp.write_bytes(data)
        return
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size > offset:
            os.ftruncate(fd, offset)  # what the node has is the truth
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


__all__ = ["RunScanner", "apply_batch", "snapshot"]
