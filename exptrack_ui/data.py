"""What the pages show, as JSON-ready dicts, read through the tracker API and never written.

One ``Store`` per experiments directory, shared by the server's threads and by ``exptrack
report``: the run listing is kept for a moment (10,000 runs take a fraction of a second to list
even with the listing cache), and each run's curves are kept as incremental samplers so a live
page reads only what was appended since its last poll.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from exptrack_core.downsample import HistorySampler
from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.params import flatten
from exptrack_core.query import apply_filter, runs_table, varying_params
from exptrack_core.run import get_tracker

from .per_class import per_class

LIST_TTL_S = 1.0  # a listing younger than this is reused: one page load asks for it several times
MAX_SAMPLERS = 4096  # curves kept in memory (least recently used dropped): a 1,000-trial sweep fits
RUN_POINTS, TRIAL_POINTS = 1000, 150  # buckets per curve: a run's chart, a sweep's many curves
MAX_ARTIFACTS = 500
TABLE_META = ["run_id", "experiment", "status", "created_at", "sweep_id"]


def clean(value: Any) -> Any:
    """A cell as JSON carries it: NaN/inf as None, anything unusual as its text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.tracker = get_tracker(self.root)
        self._lock = threading.Lock()
        self._listed: tuple[float, list[dict[str, Any]]] | None = None
        self._samplers: OrderedDict[tuple[str, int, frozenset | None], tuple[threading.Lock, HistorySampler]] = OrderedDict()
        self._importance: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._tables: tuple[list, dict[tuple[str, ...], tuple[Any, list[str]]]] = ([], {})
        self._refreshing = False
        self._first_listing = threading.Lock()

    # -- runs ------------------------------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        """Every run. Listing 10,000 runs takes seconds (four stats a run): after the first, a
        listing older than LIST_TTL_S is answered at once and refreshed in the background."""
        with self._lock:
            listed = self._listed
            if (listed is not None and time.monotonic() - listed[0] >= LIST_TTL_S
                    and not self._refreshing):
                self._refreshing = True
                threading.Thread(target=self._refresh, daemon=True).start()
        if listed is not None:
            return listed[1]
        with self._first_listing:  # the warm-up and the first page load list once, not twice
            return self._listed[1] if self._listed is not None else self._refresh()

    def _refresh(self) -> list[dict[str, Any]]:
        try:
            runs = self.tracker.list_runs() if self.root.is_dir() else []
            old = self._listed[1] if self._listed is not None else None
            if old is not None and old == runs:
                # unchanged (10-40 ms to compare 10,000 runs): the old list is kept, and with it
                # the tables built from it (0.3 s for 10,000 runs, more beside a listing)
                runs = old
            else:
                tables: tuple[list, dict] = (runs, {})
                if old is not None:
                    # a run changed (one being written): the unfiltered table is built here,
                    # before the swap, so a page load is answered from the old one meanwhile
                    self._table(runs, "", "", "", "", tables)
                self._tables = tables
            with self._lock:
                self._listed = (time.monotonic(), runs)
            return runs
        finally:
            self._refreshing = False

    def _table(self, runs: list[dict[str, Any]], experiment: str, sweep: str, status: str, filter: str,
               tables: tuple[list, dict] | None = None):
        """The filtered table and its differing params, kept for as long as this listing (the
        cache belongs to one listing object, held by it: never confused with a later one)."""
        owner, cache = tables or self._tables
        if owner is not runs:  # a request that took the listing just before a refresh swapped it
            cache = {}
        key = (experiment, sweep, status, filter)
        hit = cache.get(key)
        if hit is not None:
            return hit
        runs = [r for r in runs if (not experiment or r.get("experiment_name") == experiment)
                and (not sweep or r.get("sweep_id") == sweep)
                and (not status or r.get("status") == status)]
        table = apply_filter(runs_table(runs), filter or None)  # the CLI's --filter, its errors
        hit = (table, varying_params(table))
        if len(cache) > 64:
            cache.clear()
        cache[key] = hit
        return hit

    def runs_page(self, *, experiment: str = "", sweep: str = "", status: str = "",
                  filter: str = "", sort: str = "", desc: bool = False, offset: int = 0,
                  limit: int = 100) -> dict[str, Any]:
        """The runs table as ``exptrack compare`` builds it: differing params, final metrics."""
        runs = self.runs()
        choices = {"experiments": sorted({r.get("experiment_name") or "" for r in runs}),
                   "sweeps": sorted({r["sweep_id"] for r in runs if r.get("sweep_id")}),
                   "statuses": sorted({r.get("status") or "" for r in runs})}
        table, varying = self._table(runs, experiment, sweep, status, filter)
        columns = TABLE_META + varying + table.metrics
        rows = table.rows
        if sort:
            if sort not in table.columns:
                raise UnknownNameError("sort column", sort, columns)
            rows = sorted(rows, key=lambda r: _sort_key(r.get(sort)), reverse=desc)
            # missing values last whichever way the column is sorted
            rows = [r for r in rows if not _missing(r.get(sort))] + [r for r in rows if _missing(r.get(sort))]
        page = rows[offset: offset + limit] if limit >= 0 else rows[offset:]
        return {"columns": columns, "params": varying, "metrics": table.metrics,
                "total": len(rows), "offset": offset,
                "rows": [[clean(r.get(c)) for c in columns] for r in page], **choices}

    def run(self, run_id: str) -> dict[str, Any]:
        from exptrack_core.cli.runs import _rerun, run_details

        run = run_details(self.tracker, run_id)
        try:
            rerun = _rerun(self.root, run)
        except Exception as exc:  # an unreadable sweep record: the page still shows the run
            rerun = f"# cannot build the re-run command: {exc}"
        summary = {k: {f: clean(v) for f, v in s.items()} for k, s in (run.get("summary") or {}).items()}
        base = Path(run["run_dir"]) / "artifacts"
        arts = _artifacts(base)
        return {"run_id": run["run_id"], "experiment": run.get("experiment_name"),
                "status": run.get("status"), "created_at": run.get("created_at"),
                "finished_at": run.get("finished_at"), "sweep_id": run.get("sweep_id"),
                "trial_id": run.get("trial_id"), "note": run.get("note"),
                "description": run.get("description"), "tags": run.get("tags") or {},
                "params": {k: clean(v) for k, v in flatten(run.get("params") or {}).items()},
                "context": _context(run.get("context") or {}), "summary": summary,
                "artifacts": arts, "rerun": rerun, "per_class": per_class(base, arts, summary)}

    def curves(self, run_id: str, *, points: int = RUN_POINTS, metrics: set[str] | None = None,
               version: int | None = None) -> dict[str, Any]:
        """``{"version": n, "curves": {...}}``; only ``{"version": n}`` when nothing arrived
        since ``version`` (the page polls with the version it holds)."""
        lock, sampler = self._sampler(run_id, points, metrics)
        with lock:
            sampler.update()
            if version is not None and version == sampler.version:
                return {"version": sampler.version}
            return {"version": sampler.version, "curves": sampler.curves()}

    def _sampler(self, run_id: str, points: int, metrics: set[str] | None):
        key = (run_id, points, frozenset(metrics) if metrics else None)
        with self._lock:
            hit = self._samplers.get(key)
            if hit is not None:
                self._samplers.move_to_end(key)
                return hit
        hit = (threading.Lock(), HistorySampler(self.tracker, run_id, points, metrics))
        with self._lock:
            hit = self._samplers.setdefault(key, hit)
            while len(self._samplers) > MAX_SAMPLERS:
                self._samplers.popitem(last=False)
        return hit

    def compare(self, run_ids: list[str]) -> dict[str, Any]:
        runs = [self.run(r) for r in run_ids]
        table = runs_table([{"run_id": r["run_id"], "params": r["params"], "summary": {}} for r in runs])
        return {"runs": [{k: r[k] for k in ("run_id", "experiment", "status", "params")} for r in runs],
                "differing": varying_params(table) if len(runs) > 1 else []}

    def artifact_path(self, run_id: str, name: str) -> Path:
        """The artifact ``name`` of a run, confined to its ``artifacts/``: no ``..``, no absolute
        path, no link anywhere on the way (a link could point anywhere on the machine)."""
        base = Path(self.tracker.run_dir(run_id)) / "artifacts"
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
            raise ExptrackError(f"artifact name {name!r} refused: a path inside the run's artifacts/")
        path = base
        for p in [None] + parts:
            if p is not None:
                path = path / p
            if path.is_symlink():
                raise ExptrackError(f"artifact {name!r} refused: {path.name!r} is a link")
        if not path.is_file():
            raise FileNotFoundError(name)
        return path


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def _sort_key(v: Any) -> tuple:
    if _missing(v):
        return (2, 0, "")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, v, "")
    return (1, 0, str(v))


def _context(ctx: dict[str, Any]) -> dict[str, Any]:
    out = {}
    git = ctx.get("git") or {}
    if git:
        out["git"] = f"{str(git.get('commit', ''))[:12]} on {git.get('branch')}" + (
            " (dirty)" if git.get("dirty") else "")
    for key, value in ctx.items():
        if key == "git":
            continue
        if isinstance(value, list):
            value = " ".join(map(str, value))
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        out[key] = clean(value)
    return out


def _artifacts(base: Path) -> list[dict[str, Any]]:
    """Files under ``artifacts/`` (links not followed, not listed), at most MAX_ARTIFACTS."""
    if not base.is_dir() or base.is_symlink():
        return []
    out = []
    for root, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
        for f in sorted(files):
            full = os.path.join(root, f)
            if os.path.islink(full):
                continue
            out.append({"name": os.path.relpath(full, base).replace(os.sep, "/"),
                        "size": os.path.getsize(full)})
            if len(out) >= MAX_ARTIFACTS:
                return out
    return out


__all__ = ["Store", "clean"]
