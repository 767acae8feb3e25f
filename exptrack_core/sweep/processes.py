"""The processes of a sweep: the controller's own SIGTERM and Ctrl+C, and finding and stopping a trial's
process group from another controller (a resumed sweep).

Each launch is journaled with its process (pid, process group, host, the kernel's start time of
the pid); a controller that resumes the sweep after its predecessor was SIGKILLed uses it to stop
an orphan that outlived it (one that ignores SIGTERM included) before re-running its point.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Callable, Iterator

ORPHAN_GRACE_S = 5.0  # how long a resumed sweep lets an orphaned trial finish after SIGTERM


def process_of(pid: int | None) -> dict[str, Any] | None:
    """What the journal keeps of a launched trial's process: enough to find (and stop) its
    process group later from another controller on this host, and to tell a reused pid."""
    if pid is None:
        return None
    import socket

    from exptrack_plugins.local.files import _process_start

    try:
        pgid = os.getpgid(pid)
    except OSError:
        pgid = pid  # already gone; it led its own session (the process executor starts it so)
    return {"pid": pid, "pgid": pgid, "host": socket.gethostname(), "start": _process_start(pid)}


def group_alive(process: dict[str, Any] | None) -> bool:
    """Is the trial's process group still there, on this host, and still the trial's?"""
    import socket

    from exptrack_plugins.local.files import _process_start

    if not process or process.get("host") != socket.gethostname() or not process.get("pgid"):
        return False
    pgid = process["pgid"]
    if pgid == process.get("pid"):
        start = _process_start(pgid)
        # a live leader with another start time (or none recorded to compare) may be a new
        # process that reused the pid: never signalled; a gone leader leaves the id reserved
        # while any of its group lives (the kernel's rule)
        if start is not None and process.get("start") != start:
            return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_orphan(process: dict[str, Any] | None, owner: dict[str, Any] | None) -> None:
    """SIGTERM an orphaned trial (its process group when the journal has it, else the run's
    owner), give it ``ORPHAN_GRACE_S`` to finish, then SIGKILL what is left."""
    import signal

    from exptrack_plugins.local.files import owner_alive

    group = group_alive(process)

    def alive() -> bool:
        return group_alive(process) if group else bool(owner_alive(owner))

    def send(sig: int) -> None:
        try:
            if group:
                os.killpg(process["pgid"], sig)
            elif owner_alive(owner):
                os.kill(owner["pid"], sig)
        except OSError:
            pass

    if not alive():
        return
    send(signal.SIGTERM)
    deadline = time.time() + ORPHAN_GRACE_S
    while alive() and time.time() < deadline:
        time.sleep(0.05)
    if alive():
        send(signal.SIGKILL)
        deadline = time.time() + ORPHAN_GRACE_S
        while alive() and time.time() < deadline:
            time.sleep(0.05)


_held = 0              # depth of ``interrupts_held`` blocks in the main thread
_pending: list[int] = []  # a stop signal that arrived inside one, raised as the outer one ends


def sigterm_interrupts() -> Callable[[], None]:
    """SIGTERM of the controller stops the sweep as Ctrl+C does (its trials are stopped, not
    orphaned), and neither lands inside an ``interrupts_held`` block; returns what puts the
    previous handlers back. Only the main thread can."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum, frame):
        if _held:
            _pending.append(signum)
            return
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    return lambda: [signal.signal(sig, handler) for sig, handler in previous.items()]


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """A step of the controller's bookkeeping that Ctrl+C must not split (a trial journaled but
    not yet noted in flight would be left in flight by the interrupt's clean-up): a stop signal
    arriving inside is raised as ``KeyboardInterrupt`` when the block ends."""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending:
            _pending.clear()
            raise KeyboardInterrupt


__all__ = ["ORPHAN_GRACE_S", "group_alive", "interrupts_held", "process_of", "sigterm_interrupts",
           "stop_orphan"]
