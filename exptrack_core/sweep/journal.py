"""A sweep's own record: its config, status, and an append-only journal of trial starts and ends.

    <root>/_sweeps/<sweep_id>/
        sweep.json       config, name, experiment, status, times, controller process
        trials.jsonl     {"event": "start"|"launch"|"end", trial_id, ...}: each move of a trial's state
        controller.lock  held (flock) by the one controller driving the sweep

The journal is the sweep's memory across crashes, and the one place a trial's state is written
(its state machine and replay: ``exptrack_core.sweep.states``): a resumed controller replays it,
never re-runs a trial that ended, and re-runs those that were in flight.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.files import disk_error, open_append, refuse_link, write_json
from exptrack_core.secrets import redact_argv
from exptrack_core.sweep.states import (ENDED, DamagedSweepError, JournalReplay, TrialRecord,  # noqa: F401
                                        transition)

SWEEPS_DIR = "_sweeps"


class SweepLockedError(ExptrackError):
    pass


class SweepStore:
    def __init__(self, root: str | os.PathLike, sweep_id: str):
        self.root = Path(root)
        self.id = sweep_id
        self.dir = self.root / SWEEPS_DIR / sweep_id
        self._lock_fd: int | None = None
        self._meta: dict[str, Any] | None = None  # sweep.json as last read or written here

    # -- creation and lookup --------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | os.PathLike, *, name: str, experiment: str,
               config: dict[str, Any], argv: list[str] | None = None,
               **more: Any) -> "SweepStore":
        base = Path(root) / SWEEPS_DIR
        while True:
            sweep_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
            try:
                base.mkdir(parents=True, exist_ok=True)
                (base / sweep_id).mkdir()
                break
            except FileExistsError:
                continue
            except OSError as exc:  # a read-only or non-directory experiments dir: one line
                raise disk_error(base, exc) from None
        store = cls(root, sweep_id)
        store.write_meta({"sweep_id": sweep_id, "name": name, "experiment": experiment,
                          "status": "running", "created_at": time.time(), "finished_at": None,
                          "config": config, "command": redact_argv(argv or []), **more})
        (store.dir / "trials.jsonl").touch()
        return store

    @classmethod
    def open(cls, root: str | os.PathLike, sweep_id: str) -> "SweepStore":
        store = cls(root, sweep_id)
        plain = sweep_id and "/" not in sweep_id and "\\" not in sweep_id and not sweep_id.startswith(".")
        if not plain or not (store.dir / "sweep.json").is_file():  # an id, never a path elsewhere
            raise UnknownNameError("sweep", sweep_id, [s["sweep_id"] for s in list_sweeps(root)])
        return store

    # -- the controller lock --------------------------------------------------------------------
    def acquire(self) -> None:
        """Become the sweep's only controller, or fail naming the one that is."""
        try:
            fd = os.open(self.dir / "controller.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            refuse_link(self.dir / "controller.lock")
            raise disk_error(self.dir / "controller.lock", exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise SweepLockedError(
                f"sweep {self.id} is already being run by {holder}; wait for it to finish or stop "
                "it (Ctrl+C) before resuming") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}".encode(), 0)
        self._lock_fd = fd
        self._end_torn_line()

    def _end_torn_line(self) -> None:
        """A controller killed mid-append left half a line: close it so the next event stands alone."""
        path = self.dir / "trials.jsonl"
        with open_append(path, "rb+") as f:
            end = f.seek(0, os.SEEK_END)
            if end:
                f.seek(end - 1)
                if f.read(1) != b"\n":  # now at the end: the newline is appended, nothing overwritten
                    f.write(b"\n")

    def controller_alive(self) -> bool:
        """Does a live process hold this sweep's controller lock (see ``acquire``)?"""
        try:
            fd = os.open(self.dir / "controller.lock", os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- metadata -------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        """sweep.json, read (and checked) once per store; a copy the caller may change."""
        if self._meta is None:
            self._meta = self._read_meta()
        return copy.deepcopy(self._meta)

    def _read_meta(self) -> dict[str, Any]:
        path = self.dir / "sweep.json"
        refuse_link(path)
        try:
            with open(path, encoding="utf-8") as f:
                meta = json.load(f)
        except OSError as exc:
            raise DamagedSweepError(path, exc.strerror) from None
        except ValueError as exc:
            raise DamagedSweepError(path, f"invalid JSON ({exc})") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("sweep_id"), str):
            raise DamagedSweepError(path, "not a sweep record (no sweep_id)")
        return meta

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write sweep.json when ``meta`` differs from it (a resume that changes nothing leaves
        the file, and its mtime, alone)."""
        if meta == self._meta:
            return
        write_json(self.dir / "sweep.json", meta)
        self._meta = copy.deepcopy(meta)

    def set_status(self, status: str) -> None:
        """Record how the sweep ended. A running controller is told by its lock
        (``controller_alive``), not by this field: starting one writes nothing."""
        meta = self.meta()
        if meta.get("status") == status:
            return
        meta["status"] = status
        meta["finished_at"] = None if status == "running" else time.time()
        self.write_meta(meta)

    # -- the trial journal ----------------------------------------------------------------------
    def _append(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str) + "\n"
        with open_append(self.dir / "trials.jsonl", "a", encoding="utf-8") as f:
            f.write(line)

    def record_start(self, trial: TrialRecord) -> None:
        self._append({"event": "start", "trial_id": trial.trial_id, "run_id": trial.run_id,
                      "params": trial.params, "attempt": trial.attempt, "time": time.time()})

    def record_launch(self, trial: TrialRecord, process: dict[str, Any] | None) -> None:
        transition(trial, "running")  # refused moves are never journaled
        trial.process = process
        self._append({"event": "launch", "trial_id": trial.trial_id, "status": "running",
                      "process": process, "time": time.time()})

    def record_end(self, trial: TrialRecord, status: str, value: float | None,
                   note: str | None = None) -> None:
        transition(trial, status)
        trial.value, trial.note, trial.ended_at = value, note, time.time()
        self._append({"event": "end", "trial_id": trial.trial_id, "status": status,
                      "value": value, "note": note, "time": trial.ended_at})

    def replay(self) -> JournalReplay:
        """A reader of the journal that remembers where it stopped (see ``JournalReplay``)."""
        return JournalReplay(self.dir / "trials.jsonl")

    def trials(self) -> dict[str, TrialRecord]:
        replay = self.replay()
        replay.update()
        return replay.trials


def list_sweeps(root: str | os.PathLike,
                damaged: list[DamagedSweepError] | None = None) -> list[dict[str, Any]]:
    """Every readable sweep; those that cannot be read go to ``damaged`` (one bad record must
    not hide the others)."""
    base = Path(root) / SWEEPS_DIR
    if not base.is_dir():
        return []
    out = []
    for d in sorted(base.iterdir()):
        try:
            store = SweepStore(root, d.name)
            meta = store.meta()
            meta["trials"] = list(store.trials().values())
            out.append(meta)
        except DamagedSweepError as exc:
            if damaged is not None:
                damaged.append(exc)
        except OSError:
            continue
    return out


__all__ = ["DamagedSweepError", "ENDED", "SWEEPS_DIR", "SweepLockedError", "SweepStore", "TrialRecord",
           "list_sweeps"]
