"""The write side of a local run: the one open history file, the summary it keeps, run ids.

Only the process that claimed a run (``claim_writer``) holds an ``_OpenRun`` for it.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from exptrack_core.files import open_append

from exptrack_plugins.local.files import claim_writer, complete_size, iter_history

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



def open_history(path: Path):
    """Open the history for appending, never through a link planted in its place."""
    return open_append(path, "a", encoding="utf-8", buffering=1 << 16)


__all__ = ["SUMMARY_EVERY_S", "fold", "new_run_id", "now_iso", "open_history"]
