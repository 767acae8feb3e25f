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

import math
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.errors import AmbiguousNameError, ExptrackError, UnknownNameError
from exptrack_core.files import open_append
from exptrack_core.params import deep_merge
from exptrack_core.recordable import check_params
from exptrack_core.plugin.interfaces import FINAL_STATUSES, STATUSES
from exptrack_core.names import check_name

from exptrack_plugins.local.listing import Listing, stamps
from exptrack_plugins.local.files import (HISTORY_HEADER, claim_writer, complete_size, disk_error, history_lines, iter_history,
                          owner_alive, owner_record, read_json, write_json)

SUMMARY_EVERY_S = 2.0  # the summary is a cache; readers fold in any history written after it


def now_iso() -> str:
    from exptrack_core.times import now

    return now()  # UTC with its offset: runs made under different TZs still order by true time


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def fold(summary: dict[str, dict[str, Any]], step: int | None, name: str, value: float) -> None:
    s = summary.get(name)
    if s is None:
        s = summary[name] = {"last": value, "step": step, "min": None, "max": None, "count": 0}
    s["last"], s["step"] = value, step
    s["count"] += 1
    if math.isfinite(value):
        s["min"] = value if s["min"] is None else min(s["min"], value)
        s["max"] = value if s["max"] is None else max(s["max"], value)


class _OpenRun:
    """Write-side state of a run this process owns."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        self.history_path = run_dir / "metrics.csv"
        self.claim = claim_writer(run_dir)  # refuses a second writer, in any process
        try:
            self.history = self._open()
        except BaseException:
            os.close(self.claim)
            raise
        # rebuilt from the history, not the cached file: an earlier writer may have left it stale
        self.summary: dict[str, dict[str, Any]] = {}
        for step, name, value, _ in iter_history(self.history_path):
            fold(self.summary, step, name, value)
        self.bytes = complete_size(self.history_path)
        size = self.history_path.stat().st_size
        if self.bytes < size:  # a writer killed mid-line: end its half line so ours stand alone
            self.history.write("\n")
            self.history.flush()
            self.bytes = size + 1
        self.summary_written = 0.0
        self.lock = threading.Lock()

    def _open(self):
        return open_history(self.history_path)

    def release(self) -> None:
        try:
            self.history.close()
        finally:
            os.close(self.claim)

    def discard_failed_write(self) -> None:
        """After a failed write (disk full): forget what is still buffered and cut the partial
        line it left, so the history ends at the last whole record and the run can still finish."""
        try:
            self.history.close()  # closes even when its final flush fails again
        except OSError:
            pass
        try:
            os.truncate(self.history_path, self.bytes)
        except OSError:
            pass  # the reader skips a torn last line anyway
        self.history = self._open()


class LocalTracker:
    """The built-in system of record. Safe for many processes writing runs under one root."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._open: dict[str, _OpenRun] = {}
        self._opening = threading.Lock()
        self._dirs: dict[str, Path] = {}

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

    # -- reading -------------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        d = self._dirs.get(run_id)
        if d is not None:
            return d
        if _plain_name(run_id):
            for candidate in self.root.glob(f"*/{run_id}"):
                if (candidate / "meta.json").is_file():
                    self._dirs[run_id] = candidate
                    return candidate
            matches = [p for p in self.root.glob(f"*/{run_id}*") if (p / "meta.json").is_file()]
            if len(matches) == 1:  # a unique prefix, like git's short hashes
                self._dirs[run_id] = matches[0]
                return matches[0]
            if matches:
                raise AmbiguousNameError("run id", run_id, sorted(p.name for p in matches))
        raise UnknownNameError("run id", run_id, [p.name for p in self._run_dirs(None)][-30:])

    def _run_dirs(self, experiment: str | None) -> list[Path]:
        """Run directories: every directory two levels down except the reserved ``.``/``_`` ones."""
        if not self.root.is_dir():
            return []
        pattern = f"{experiment}/*" if experiment else "*/*"
        return sorted(p for p in self.root.glob(pattern)
                      if p.is_dir() and not p.name.startswith((".", "_"))
                      and not p.parent.name.startswith((".", "_")))

    def _summary(self, run_dir: Path) -> dict[str, dict[str, Any]]:
        """The summary file, with any history written after it folded in."""
        try:
            cached = read_json(run_dir / "summary.json")
            summary, offset = cached.get("metrics", {}), int(cached.get("history_bytes", 0))
        except (OSError, ValueError, AttributeError):
            summary, offset = {}, 0
        history = run_dir / "metrics.csv"
        try:
            size = history.stat().st_size
        except FileNotFoundError:
            return summary
        if size < offset or (offset and not _line_start(history, offset)):
            summary, offset = {}, 0  # the cache does not describe this history: rebuild it
        if size > offset:
            if offset == 0:
                summary = {}
            for step, name, value, _ in iter_history(history, offset):
                fold(summary, step, name, value)
        return summary

    def _record(self, run_dir: Path) -> dict[str, Any]:
        """What a listing needs of a run, as its files say (``meta`` not yet checked for a crash)."""
        meta = read_json(run_dir / "meta.json")
        if not isinstance(meta, dict):
            raise TypeError(f"meta.json holds a {type(meta).__name__}, not an object")
        try:
            params = read_json(run_dir / "params.json")
        except FileNotFoundError:
            params = {}
        return {"meta": meta, "params": params, "summary": self._summary(run_dir)}

    def _as_run(self, record: dict[str, Any], run_dir: str) -> dict[str, Any]:
        meta = dict(record["meta"])
        if meta.get("status") == "running" and owner_alive(meta.get("owner")) is False:
            meta["status"] = "crashed"  # its process is gone without finishing the run
        return {**meta, "params": record["params"], "run_dir": run_dir, "summary": record["summary"]}

    def read_run(self, run_dir: Path, *, history: bool = False) -> dict[str, Any]:
        out = self._as_run(self._record(run_dir), str(run_dir))
        if history:
            metrics: dict[str, list[dict[str, Any]]] = {}
            for step, name, value, ts in iter_history(run_dir / "metrics.csv"):
                metrics.setdefault(name, []).append({"step": step, "value": value, "timestamp": ts})
            out["metrics"] = metrics
            ctx = run_dir / "context.json"
            out["context"] = read_json(ctx) if ctx.exists() else {}
            art = run_dir / "artifacts"
            out["artifacts"] = sorted(p.name for p in art.iterdir()) if art.is_dir() else []
        return out

    def get_run(self, run_id: str) -> dict[str, Any]:
        run_dir = self.run_dir(run_id)
        try:
            return self.read_run(run_dir, history=True)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ExptrackError(f"run {run_dir.name} is unreadable ({run_dir}: {type(exc).__name__}: "
                                f"{exc}); fix or remove its directory, other runs are unaffected") from None

    def list_runs(self, experiment: str | None = None, *, errors: list[str] | None = None
                  ) -> list[dict[str, Any]]:
        """Every readable run (oldest first). Unreadable ones are named in ``errors``, not fatal.

        A listing cache (``local_listing``, in the user's cache directory, validated against the
        files) spares re-reading the runs whose files have not changed since an earlier listing."""
        if experiment is not None:
            check_name("experiment", experiment)
        runs = []
        for exp_dir in self._experiment_dirs(experiment):
            listing = Listing(exp_dir)
            for name in _visible_dirs(exp_dir):
                run_dir = os.path.join(exp_dir, name)
                taken = stamps(run_dir)
                record = listing.get(name, taken)
                try:
                    if record is None:
                        if taken[0] is None and _age(Path(run_dir)) < 5:
                            continue  # being created right now by another process
                        record = self._record(Path(run_dir))
                        runs.append(self._as_run(record, run_dir))
                        listing.put(name, taken, record)
                    else:
                        runs.append(self._as_run(record, run_dir))
                except (OSError, ValueError, TypeError, AttributeError) as exc:
                    if errors is not None:
                        errors.append(f"{run_dir}: {type(exc).__name__}: {exc}")
            listing.save()
        from exptrack_core.times import instant

        runs.sort(key=lambda r: (instant(r.get("created_at")), r.get("run_id") or ""))
        return runs

    def _experiment_dirs(self, experiment: str | None) -> list[str]:
        if experiment is not None:
            exp_dir = self.root / experiment
            return [str(exp_dir)] if exp_dir.is_dir() else []
        if not self.root.is_dir():
            return []
        return [os.path.join(str(self.root), name) for name in _visible_dirs(str(self.root))]


def _visible_dirs(parent: str) -> list[str]:
    """Names of the directories in ``parent``, except the reserved ``.``/``_`` ones, sorted."""
    try:
        with os.scandir(parent) as entries:
            return sorted(e.name for e in entries
                          if not e.name.startswith((".", "_")) and e.is_dir())
    except OSError:
        return []


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


def open_history(path: Path):
    """Open the history for appending, never through a link planted in its place."""
    return open_append(path, "a", encoding="utf-8", buffering=1 << 16)


def _line_start(path: Path, offset: int) -> bool:
    """Whether byte ``offset`` of ``path`` starts a line (the byte before it is a newline)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset - 1)
            return f.read(1) == b"\n"
    except OSError:
        return False


def _plain_name(name: object) -> bool:
    """Safe to look up as one path component (no '/', '..', NUL, not over 255 bytes)."""
    try:
        check_name("run id", name)
    except ExptrackError:
        return False
    return True


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


__all__ = ["LocalTracker", "fold", "new_run_id", "now_iso"]
