"""The local tracker: one directory of human-readable files per run, append-only metric history.

    <root>/<experiment>/<run_id>/
        meta.json      id, experiment, status, times, tags, description, sweep, owner process
        params.json    the run's params (nested, as logged)
        context.json   git, command, versions, host, seed (secrets redacted)
        params.yaml    a snapshot of the project's params.yaml, when there is one
        metrics.csv    step,name,value,timestamp - one line per value, only ever appended
        summary.json   last/min/max/count per metric, and how many history bytes it covers
        artifacts/     copies of logged files
"""


from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.params import deep_merge
from exptrack_core.recordable import check_params
from exptrack_core.plugin.interfaces import FINAL_STATUSES, STATUSES
from exptrack_core.names import check_name

from exptrack_plugins.local.files import (HISTORY_HEADER, disk_error, history_lines, owner_record,
                                          read_json, write_json)
from exptrack_plugins.local.reading import RunReader
from exptrack_plugins.local.writer import (SUMMARY_EVERY_S, _OpenRun, fold, new_run_id, now_iso,
                                           open_history)


class LocalTracker(RunReader):
    """The built-in system of record. Safe for many processes writing runs under one root."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._open: dict[str, _OpenRun] = {}
        self._opening = threading.Lock()
        self._dirs: dict[str, Path] = {}
        self._listings: dict[str, Any] = {}

    # -- writing -------------------------------------------------------------------------------
    def create_run(self, experiment: str, *, params: Mapping[str, Any] | None = None,
                   tags: Mapping[str, str] | None = None, description: str = "",
                   context: Mapping[str, Any] | None = None, sweep_id: str | None = None,
                   trial_id: str | None = None, params_snapshot: Path | None = None) -> str:
        check_name("experiment", experiment)
        params = check_params(params or {})  # before anything is written
        exp_dir = self.root / experiment
        try:
            exp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exp_dir, exc) from None
        for _ in range(100):
            run_id = new_run_id()
            run_dir = exp_dir / run_id
            try:
                run_dir.mkdir()  # exclusive: two processes never get the same id
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of 24 random bits in one second
            raise ExptrackError(f"could not allocate a run id under {exp_dir}")
        (run_dir / "artifacts").mkdir()
        meta = {
            "run_id": run_id, "experiment_name": experiment, "status": "running",
            "created_at": now_iso(), "finished_at": None,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "description": description or "", "sweep_id": sweep_id, "trial_id": trial_id,
            "owner": owner_record(), "note": None,
        }
        write_json(run_dir / "params.json", params)
        write_json(run_dir / "context.json", dict(context or {}))
        if params_snapshot is not None and params_snapshot.is_file():
            shutil.copyfile(params_snapshot, run_dir / "params.yaml")
        with open_history(run_dir / "metrics.csv") as f:
            f.write(HISTORY_HEADER)
        write_json(run_dir / "meta.json", meta)  # last: a run is listed once it is complete
        self._dirs[run_id] = run_dir
        return run_id

    def _writer(self, run_id: str) -> _OpenRun:
        w = self._open.get(run_id)
        if w is None:
            with self._opening:  # a run's sampler thread (the system backend) may log first
                w = self._open.get(run_id)
                if w is None:
                    w = self._open[run_id] = _OpenRun(self.run_dir(run_id))
        return w

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        params = check_params(params)
        path = self.run_dir(run_id) / "params.json"
        current = read_json(path) if path.exists() else {}
        deep_merge(current, dict(params))
        write_json(path, current)

    def log_context(self, run_id: str, context: Mapping[str, Any]) -> None:
        """Replace the run's context (a sweep trial records its own process when it joins)."""
        write_json(self.run_dir(run_id) / "context.json", dict(context))

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int | None,
                    timestamp: float) -> None:
        w = self._writer(run_id)
        text = history_lines(dict(metrics), step, timestamp)
        with w.lock:
            try:
                w.history.write(text)
                w.history.flush()  # one write(2) per call: a SIGKILL loses only the call in flight
            except OSError as exc:
                w.discard_failed_write()
                raise disk_error(w.history_path, exc) from None
            w.bytes += len(text.encode("utf-8"))
            for name, value in metrics.items():
                fold(w.summary, step, name, value)
            if timestamp - w.summary_written >= SUMMARY_EVERY_S:
                self._write_summary(w)

    def _write_summary(self, w: _OpenRun) -> None:
        write_json(w.dir / "summary.json", {"metrics": w.summary, "history_bytes": w.bytes})
        w.summary_written = time.time()

    def log_artifact(self, run_id: str, path: Path, name: str) -> Path:
        check_name("artifact", name)
        src = Path(path)
        if not src.exists():
            raise ExptrackError(f"artifact {str(src)!r} does not exist")
        artifacts = self.run_dir(run_id) / "artifacts"
        if artifacts.is_symlink():
            raise ExptrackError(f"{artifacts} is a link, not the run's own directory; refusing to "
                                "write an artifact through it (replace it with a directory)")
        dest = artifacts / name
        try:
            artifacts.mkdir(exist_ok=True)
            _unlink_planted_links(dest)  # never write through a link planted in the run directory
            if src.is_dir():
                shutil.copytree(src, dest, symlinks=False, dirs_exist_ok=True,
                                ignore=_skip_records(self.root))
            else:
                shutil.copyfile(src, dest, follow_symlinks=True)  # a link is copied as content
        except OSError as exc:
            raise disk_error(dest, exc) from None
        return dest

    def set_status(self, run_id: str, status: str, *, note: str | None = None) -> None:
        if status not in STATUSES:
            raise ExptrackError(f"invalid status {status!r}; expected one of {', '.join(STATUSES)}")
        run_dir = self.run_dir(run_id)
        meta = read_json(run_dir / "meta.json")
        meta["status"] = status
        if status in FINAL_STATUSES:
            meta["finished_at"] = now_iso()
        else:
            self._writer(run_id)  # joining a run: refused while another writer holds it
            meta["finished_at"] = None
            meta["owner"] = owner_record()
        if note is not None:
            meta["note"] = note
        w = self._open.get(run_id)
        if w is not None:
            with w.lock:
                w.history.flush()
                self._write_summary(w)
        write_json(run_dir / "meta.json", meta)

    def close(self, run_id: str) -> None:
        w = self._open.pop(run_id, None)
        if w is not None:
            with w.lock:
                try:
                    self._write_summary(w)
                finally:
                    w.release()


def _skip_records(root: Path):
    """A copytree ``ignore``: the experiments directory, when the logged directory holds it
    (``log_artifact('.')``), is left out; copying it would copy the copy, until paths overflow."""
    records = os.path.realpath(root)

    def ignore(directory: str, names: list[str]) -> list[str]:
        return [n for n in names if os.path.realpath(os.path.join(directory, n)) == records]
    return ignore


def _unlink_planted_links(dest: Path) -> None:
    """Remove every link at or under ``dest``, where an artifact is about to be copied."""
    if dest.is_symlink():
        dest.unlink()
        return
    for root, dirs, files in os.walk(dest):  # never descends into a linked directory
        for name in dirs + files:
            if os.path.islink(os.path.join(root, name)):
                os.unlink(os.path.join(root, name))



__all__ = ["LocalTracker", "fold", "new_run_id", "now_iso"]
