"""The read side of the local tracker: finding run directories, reading runs, listing them,
and reading a run's history incrementally from a byte offset."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from exptrack_core.errors import AmbiguousNameError, ExptrackError, UnknownNameError
from exptrack_core.names import check_name

from exptrack_plugins.local.files import iter_history, owner_alive, parse_history, read_json
from exptrack_plugins.local.listing import Listing, stamps
from exptrack_plugins.local.writer import fold


class RunReader:
    """Reading runs under ``self.root`` (``self._dirs`` caches run id -> directory,
    ``self._listings`` the listing caches last parsed: see listing.py)."""

    root: Path
    _dirs: dict[str, Path]
    _listings: dict[str, Any]

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

    def read_run(self, run_dir: Path, *, history: bool = False, details: bool | None = None
                 ) -> dict[str, Any]:
        """``details`` (default: as ``history``) adds context and artifacts without the history:
        ``exptrack show`` of a 1,000,000-value run needs the summary, not every value."""
        out = self._as_run(self._record(run_dir), str(run_dir))
        if history:
            metrics: dict[str, list[dict[str, Any]]] = {}
            for step, name, value, ts in iter_history(run_dir / "metrics.csv"):
                metrics.setdefault(name, []).append({"step": step, "value": value, "timestamp": ts})
            out["metrics"] = metrics
        if history if details is None else details:
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

    def read_history(self, run_id: str, *, start: Any = 0, metric: str | None = None
                     ) -> tuple[list[tuple[int | None, str, float, float]], int]:
        """``(rows, next_offset)``: the history rows appended since byte ``start`` of metrics.csv.

        Only the bytes after ``start`` are read. A last line still being written (no newline
        yet) is left for a later call: ``next_offset`` stops before it."""
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ExptrackError(f"invalid history offset {start!r}: expected an offset that "
                                "read_history returned (an integer >= 0)")
        try:
            f = open(self.run_dir(run_id) / "metrics.csv", "rb")
        except FileNotFoundError:
            return [], start
        with f:
            f.seek(start)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        return parse_history(chunk[:end], metric), start + end

    def list_runs(self, experiment: str | None = None, *, errors: list[str] | None = None
                  ) -> list[dict[str, Any]]:
        """Every readable run (oldest first). Unreadable ones are named in ``errors``, not fatal.

        A listing cache (``local_listing``, in the user's cache directory, validated against the
        files) spares re-reading the runs whose files have not changed since an earlier listing."""
        if experiment is not None:
            check_name("experiment", experiment)
        runs = []
        for exp_dir in self._experiment_dirs(experiment):
            # the cache file parsed once per change, not once per listing (see listing.py)
            listing = Listing(exp_dir, self._listings)
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


__all__ = ["RunReader"]
