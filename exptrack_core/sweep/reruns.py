"""Re-running a trial that did not end by itself: how often, and whether it continues its run.

A trial killed or crashed (``states.RERUN``) while its sweep ran, or left in flight by a
controller that stopped, has its grid point run again: at most ``--max-retries`` times for the
ends this controller saw (a resume re-runs what was in flight once more: the user asked for it),
after which it ends ``failed`` (a program that always dies of a signal cannot keep a sweep alive).
The re-run continues the same trial and run (its next attempt, ``EXPTRACK_ATTEMPT``) only when
the attempt before it saved a checkpoint to ``run.checkpoint_dir``; with nothing to continue from
it starts over as a new trial of the same point, and the killed run keeps the steps it logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exptrack_core.run import CHECKPOINTS_DIR
from exptrack_core.sweep.ledger import point_key
from exptrack_core.sweep.states import TrialRecord


class Reruns:
    """The points waiting to run again, in order, and the trials their re-runs may continue."""

    def __init__(self, tracker: Any, max_retries: int):
        self.tracker = tracker
        self.max_retries = max_retries
        self.retries: dict[str, int] = {}  # point -> re-runs after a kill, by this controller
        self.resuming: dict[str, TrialRecord] = {}  # point -> the killed trial its re-run continues
        self.queue: list[dict[str, Any]] = []

    def __bool__(self) -> bool:
        return bool(self.queue)

    def add(self, t: TrialRecord) -> None:
        """Run ``t``'s point again (a trial the last controller left in flight)."""
        self.queue.append(t.params)
        self.resuming[point_key(t.params)] = t

    def next(self) -> dict[str, Any]:
        return self.queue.pop(0)

    def clear(self) -> None:
        self.queue.clear()

    def retry_or_fail(self, t: TrialRecord, status: str, code: int,
                      note: str | None) -> tuple[str, str | None]:
        """A trial killed or crashed (``status``) while the sweep ran: run its point again, at
        most ``max_retries`` times, then end it failed, so a program that always dies of a
        signal (or a node that always fails) cannot keep a sweep alive."""
        key = point_key(t.params)
        if self.retries.get(key, 0) < self.max_retries:
            self.retries[key] = self.retries.get(key, 0) + 1
            self.add(t)
            return status, note
        how = f"exit code {code}" if status == "killed" else note or "its process was lost"
        note = (f"{status} ({how}) on attempt {self.retries.get(key, 0) + 1}, after "
                f"{self.retries.get(key, 0)} re-runs; not re-run again (--max-retries {self.max_retries})")
        self.tracker.set_status(t.run_id, "failed", note=note)
        return "failed", note

    def reopen(self, run_id: str, attempt: int, sweep_id: str) -> None:
        """Make a continued trial's run pending again, as a new trial's run is (running, the
        sweep's context only), so the next attempt may join it; the claim ``set_status`` takes is
        let go at once. The journal names the attempt now running, so a late finish of an
        earlier one is superseded."""
        self.tracker.set_status(run_id, "running", note=f"attempt {attempt}, continuing "
                                                        f"attempt {attempt - 1}")
        self.tracker.close(run_id)
        self.tracker.log_context(run_id, {"sweep": sweep_id})

    def continued(self, params: dict[str, Any]) -> TrialRecord | None:
        """The trial a launch of ``params`` continues, or None: a new trial (nothing to resume
        from, or not a re-run)."""
        resumed = self.resuming.pop(point_key(params), None)
        if resumed is not None and not saved_checkpoints(self.tracker, resumed.run_id):
            return None
        return resumed


def left_in_flight(t: TrialRecord, recorded: str | None, *, stopped: bool) -> tuple[str, str]:
    """How a trial the last controller left in flight ended, as a resumed sweep finds it (one
    whose run recorded a final end is ended so, by the caller): ``(state, why)``.

    ``killed`` when it recorded the signal it got (its controller's death sends SIGTERM) or this
    sweep had to stop it (``stopped``: an orphan still running), or when it never launched;
    ``crashed`` when it launched and is gone with no end recorded: no one saw how it ended."""
    if t.status == "running" and not stopped and recorded != "killed":
        return "crashed", "its process was gone when the sweep resumed"
    return "killed", "in flight when the sweep stopped"


def saved_checkpoints(tracker: Any, run_id: str) -> bool:
    """Whether a killed attempt left anything in its ``run.checkpoint_dir`` to resume from."""
    try:
        return any((Path(tracker.run_dir(run_id)) / CHECKPOINTS_DIR).iterdir())
    except (OSError, TypeError, ValueError):
        return False


__all__ = ["Reruns", "left_in_flight", "saved_checkpoints"]
