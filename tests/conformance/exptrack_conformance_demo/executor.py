"""An executor written against ``exptrack.plugin.Executor`` alone: each trial a process group.

Unlike the built-in one it asks nothing of the system (no death signal from its parent): when the
controller is killed, its trials run on to their end, as they would on a remote machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any, Mapping

from exptrack.plugin import ExptrackError, TrialExit, TrialLaunch

from .calls import recorded


class GroupExecutor:
    def __init__(self, options: Mapping[str, Any]):
        workers = options.get("workers", 1)
        if not isinstance(workers, int) or workers < 1:
            raise ExptrackError(f"invalid workers {workers!r} for executor 'groups': expected a "
                                "positive integer")
        self.workers = workers
        self._procs: dict[str, tuple[TrialLaunch, subprocess.Popen]] = {}
        self._kill_at: dict[str, float] = {}

    @property
    def free_slots(self) -> int:
        return self.workers - len(self._procs)

    @recorded("executor")
    def launch(self, trial: TrialLaunch) -> None:
        with open(trial.run_dir / "stdout.log", "ab") as out:
            proc = subprocess.Popen(trial.argv, cwd=trial.cwd, env={**os.environ, **trial.env},
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self._procs[trial.trial_id] = (trial, proc)

    @recorded("executor")
    def poll(self) -> list[TrialExit]:
        done = []
        for trial_id, (trial, proc) in list(self._procs.items()):
            code = proc.poll()
            if code is None:
                if self._kill_at.get(trial_id, float("inf")) <= time.monotonic():
                    self._signal(proc, signal.SIGKILL)
                continue
            del self._procs[trial_id]
            self._kill_at.pop(trial_id, None)
            done.append(TrialExit(trial, code, None if code == 0 else f"exit code {code}"))
        return done

    @recorded("executor")
    def running(self) -> list[TrialLaunch]:
        return [trial for trial, _ in self._procs.values()]

    @recorded("executor")
    def terminate(self, trial_id: str, grace: float = 10.0) -> None:
        if trial_id in self._procs and trial_id not in self._kill_at:
            self._signal(self._procs[trial_id][1], signal.SIGTERM)
            self._kill_at[trial_id] = time.monotonic() + grace

    @recorded("executor")
    def cancel_all(self, grace: float = 10.0) -> list[TrialExit]:
        for _, proc in self._procs.values():
            self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for _, p in self._procs.values()):
            time.sleep(0.05)
        for _, proc in self._procs.values():
            self._signal(proc, signal.SIGKILL)
            proc.wait()
        return self.poll()

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
