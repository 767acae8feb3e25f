"""A trial's one state machine, and the replay of the journal that records its moves.

Every move of a trial is an event appended to the sweep's journal (``SweepStore.record_*``):

    start   -> pending     the trial and its run exist (trial_id, run_id, params, attempt)
    launch  -> running     an executor started it (pid, pgid, host of the process, when known)
    end     -> completed | pruned | failed | killed | crashed | timed_out   (final: never changed)

``transition`` refuses any other move, so a trial ends once: a late finish of a superseded
attempt, or a second controller's view, cannot change it. The run's status in the tracker is
written from the same moves (the controller sets it where the program did not).

Two ends mean the program did not finish by itself, and its point is run again (``reruns``):

    killed   ended by a signal (an exit status of -9, 130, 137, 143 the controller saw, or the
             program's own record of the SIGTERM/Ctrl+C it got), or stopped by the user or the
             sweep (Ctrl+C, SIGTERM of the controller, a resumed sweep stopping an orphan)
    crashed  its process vanished without an exit status the controller saw: a resumed sweep
             finds a launched trial whose process is gone and whose run never recorded an end
             (the local tracker tells by the run's ``owner`` record), or an executor lost it (a
             Ray node or worker died: ``TrialExit.lost``). Ray Tune calls this an ERROR from a
             lost actor; W&B shows such a run as "crashed".

Readers replay the journal from a byte offset, as Optuna's ``JournalStorage`` replays its log
from the last log number it read (``JournalFileBackend.read_logs(log_number_from)`` seeks to the
offset it remembered): a reader that keeps its ``JournalReplay`` reads only what was appended
since. A trial process asking for an early-stopping verdict does so at each step.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exptrack_core.errors import ExptrackError

IN_FLIGHT = ("pending", "running")
FINAL = ("completed", "pruned", "failed", "killed", "crashed", "timed_out")
TRIAL_STATES = IN_FLIGHT + FINAL
ENDED = ("completed", "pruned", "failed", "timed_out")  # never re-run; killed/crashed ones are
RERUN = ("killed", "crashed")  # ended without finishing by itself: its point runs again
_MOVES = {"pending": ("running",) + FINAL, "running": FINAL}
_STOPS = {signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGHUP}
_START_FIELDS = (("trial_id", str), ("run_id", str), ("params", dict))


class IllegalTransition(ExptrackError):
    pass


class DamagedSweepError(ExptrackError):
    """A sweep record that cannot be read; the message names the file."""

    def __init__(self, path: Path, why: Any):
        self.path = path
        super().__init__(f"damaged sweep record {path}: {why}")


@dataclass
class TrialRecord:
    trial_id: str
    run_id: str
    params: dict[str, Any]
    status: str = "pending"
    value: float | None = None
    note: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None
    attempt: int = 1                        # 1 + how many earlier trials ran the same point
    process: dict[str, Any] | None = None   # pid, pgid, host, start of the launched process
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. a seeded group's seed count

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    def as_history(self) -> dict[str, Any]:
        # a strategy sees "running" for every trial not ended (pending is the core's own detail)
        return {"trial_id": self.trial_id, "params": self.params,
                "status": "running" if self.in_flight else self.status, "value": self.value}


def transition(trial: TrialRecord, new: str) -> None:
    """Move ``trial`` to state ``new``, or refuse: a trial starts pending and ends once."""
    allowed = _MOVES.get(trial.status, ())
    if new not in allowed:
        raise IllegalTransition(
            f"trial {trial.trial_id} cannot go from {trial.status} to {new!r}; from "
            f"{trial.status} it may go to {', '.join(allowed) or 'nothing (it has ended)'}")
    trial.status = new


def exit_state(returncode: int) -> str:
    """What a trial that did not record its own end ended as, by its exit status: 0 completed;
    ended by a stopping signal (negative: Popen's form; 128 + n: a shell's or Python's, as 130
    for Ctrl+C) killed; anything else failed."""
    if returncode == 0:
        return "completed"
    if -returncode in _STOPS or returncode - 128 in _STOPS:
        return "killed"
    return "failed"


def exit_state_of(recorded: str | None, note: str | None, returncode: int, error: str | None, *,
                  pruned: bool = False, timed_out: float | None = None, lost: str | None = None
                  ) -> tuple[str, str | None, bool]:
    """How a trial whose process exited ends: ``(state, note, write)``, ``write`` when the run's
    record must be set to it (the program did not record that end itself).

    ``recorded`` is the status its run recorded; a trial the sweep stopped for its time limit is
    ``timed_out`` whatever it recorded as it was stopped; one it pruned is ``pruned`` unless it
    had already ended by itself; one its executor ``lost`` (why, as ``TrialExit.lost``) is
    ``crashed`` unless it had ended by itself."""
    if lost and recorded not in ENDED:
        return "crashed", lost, True
    if timed_out is not None:
        return "timed_out", f"stopped after its time limit of {timed_out:g}s (--trial-timeout)", True
    if pruned and recorded not in ENDED:
        return "pruned", "stopped early by the sweep's stopper", True
    if recorded not in ENDED and recorded != "killed":
        state = exit_state(returncode)
        if state == "failed":
            note = f"exit code {returncode}: {error or ''}".strip()[-2000:]
        return state, note, True
    if recorded == "failed" and error:
        note = f"{note or ''}\n{error}".strip()[-2000:]
    return recorded, note, False


class JournalReplay:
    """The trials as the journal says, kept up to date by reading only the bytes appended since
    the last ``update`` (a torn last line is left for a later one)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.lines = 0
        self.trials: dict[str, TrialRecord] = {}

    def update(self) -> list[TrialRecord]:
        """Apply the events appended since the last call; the trials they changed."""
        try:
            f = open(self.path, "rb")
        except OSError as exc:
            raise DamagedSweepError(self.path, exc.strerror) from None
        with f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # after it: half an event, torn by a kill (or being written)
        changed: dict[str, TrialRecord] = {}
        for raw in chunk[:end].splitlines():
            self.lines += 1
            try:
                ev = json.loads(raw)
            except ValueError:
                continue  # a torn line that a later controller ended (SweepStore._end_torn_line)
            if not isinstance(ev, dict) or (ev.get("event") == "start" and not all(
                    isinstance(ev.get(k), t) for k, t in _START_FIELDS)):
                raise DamagedSweepError(self.path,
                                        f"line {self.lines} is not a trial event: {raw[:80]!r}")
            t = self._apply(ev)
            if t is not None:
                changed[t.trial_id] = t
        self.offset += end
        return list(changed.values())

    def _apply(self, ev: dict[str, Any]) -> TrialRecord | None:
        kind, t = ev.get("event"), self.trials.get(ev.get("trial_id"))
        if kind == "start":
            t = self.trials[ev["trial_id"]] = TrialRecord(
                ev["trial_id"], ev["run_id"], ev["params"], started_at=ev.get("time", 0.0),
                attempt=ev.get("attempt", 1))
            return t
        if t is None or kind not in ("launch", "end"):
            return None
        try:
            transition(t, "running" if kind == "launch" else ev.get("status"))
        except IllegalTransition:
            return None  # a controller refuses such a move before writing it: not ours, ignored
        if kind == "launch":
            t.process = ev.get("process")
        else:
            t.value, t.note, t.ended_at = ev.get("value"), ev.get("note"), ev.get("time")
        return t


__all__ = ["DamagedSweepError", "ENDED", "FINAL", "IN_FLIGHT", "IllegalTransition", "JournalReplay",
           "RERUN", "TRIAL_STATES", "TrialRecord", "exit_state", "exit_state_of", "transition"]
