"""Small file primitives of the local tracker: atomic JSON, append-only history, owner liveness."""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

from exptrack_core.errors import ExptrackError
from exptrack_core.files import refuse_link, disk_error, write_json, write_text  # noqa: F401 (re-exported)

HISTORY_HEADER = "step,name,value,timestamp\n"


class TornRecordWarning(UserWarning):
    """A record file ends in a half-written line (the writer was killed mid-write)."""


def read_json(path: Path) -> Any:
    refuse_link(path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def format_value(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else str(value)  # nan, inf, -inf


def history_lines(metrics: dict[str, float], step: int | None, timestamp: float) -> str:
    s = "" if step is None else str(int(step))
    ts = f"{timestamp:.6f}"
    return "".join(f"{s},{name},{format_value(v)},{ts}\n" for name, v in metrics.items())


def iter_history(path: Path, offset: int = 0) -> Iterator[tuple[int | None, str, float, float]]:
    """Parse the history from byte ``offset``; a torn or corrupt line is skipped with a warning."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        if offset:
            f.seek(offset)
        for lineno, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                warnings.warn(f"{path}: ignoring a half-written last line {raw[:60]!r}",
                              TornRecordWarning, stacklevel=2)
                return
            if raw == HISTORY_HEADER.encode():
                continue
            try:
                step_s, name, value_s, ts_s = raw.decode("utf-8").rstrip("\n").rsplit(",", 3)
                step = int(step_s) if step_s else None
                yield step, name, float(value_s), float(ts_s)
            except (ValueError, UnicodeDecodeError):
                warnings.warn(f"{path}: ignoring corrupt line {raw[:60]!r}", TornRecordWarning,
                              stacklevel=2)


def parse_history(chunk: bytes, metric: str | None = None
                  ) -> list[tuple[int | None, str, float, float]]:
    """The rows of whole history lines ``chunk`` (ending in a newline), only ``metric``'s if given;
    the header and corrupt lines are skipped (``iter_history`` warns about those)."""
    rows = []
    want = None if metric is None else f",{metric},".encode()
    for raw in chunk.splitlines():
        if want is not None and want not in raw:
            continue  # cheap pre-filter; the exact name is checked once the line is split
        try:
            step_s, name, value_s, ts_s = raw.decode("utf-8").rsplit(",", 3)
            if metric is not None and name != metric:
                continue
            rows.append((int(step_s) if step_s else None, name, float(value_s), float(ts_s)))
        except (ValueError, UnicodeDecodeError):
            continue  # the header, or a corrupt line
    return rows


def complete_size(path: Path) -> int:
    """Bytes of ``path`` up to and including its last newline."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb") as f:
        back = min(size, 4096)
        f.seek(size - back)
        tail = f.read(back)
    cut = tail.rfind(b"\n")
    return size - back + cut + 1 if cut >= 0 else 0


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_record() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _process_start(os.getpid())}


WRITER_FILE = ".writer"  # in the run directory: locked by the one process writing the run


class RunBusyError(ExptrackError):
    """Another tracker (in this or another process) is writing the run."""


def claim_writer(run_dir: Path) -> int:
    """Lock ``run_dir`` for this writer and return the lock's fd (closing it releases the claim).

    The kernel drops the lock when its process dies, so a dead owner's claim is simply taken
    over; the file's content (the owner's pid and host) is only there to name the owner."""
    import fcntl

    path = run_dir / WRITER_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        refuse_link(path)
        raise disk_error(path, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            owner = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except ValueError:
            owner = {}
        os.close(fd)
        raise RunBusyError(
            f"run {run_dir.name} is being written by pid {owner.get('pid', '?')} on host "
            f"{owner.get('host', '?')}; a run has one writer at a time (finish it there, or log "
            "into a new run)") from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(owner_record()).encode(), 0)
    return fd


def owner_alive(owner: dict[str, Any] | None) -> bool | None:
    """True/False when it can be told (same host), None when the owner is on another machine."""
    if not owner or owner.get("host") != socket.gethostname():
        return None
    pid = owner.get("pid")
    if not isinstance(pid, int):
        return None
    if sys.platform.startswith("linux"):
        start = _process_start(pid)
        return start is not None and (owner.get("start") in (None, start))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["HISTORY_HEADER", "RunBusyError", "WRITER_FILE", "claim_writer", "TornRecordWarning", "complete_size", "disk_error", "format_value",
           "history_lines", "iter_history", "parse_history", "owner_alive", "owner_record", "read_json",
           "write_json", "write_text"]
