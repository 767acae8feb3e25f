"""Runs each trial as a local process; ``workers`` at once, one GPU each when there are GPUs.

Each trial is the leader of its own session (so of its own process group), and every signal goes
to the group: stopping a trial also stops what it started (DataLoader workers, a
``subprocess.Popen``), and a Ctrl+C at the terminal reaches only the controller, which then stops
the trials itself.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.sweep.launch import TrialExit, TrialLaunch, redacted_stderr


def visible_gpus() -> list[str]:
    """GPU ids to hand out: CUDA_VISIBLE_DEVICES when set, else what nvidia-smi lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the trial gets SIGTERM if the sweep controller dies, so no trial is orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ProcessExecutor:
    def __init__(self, options: Mapping[str, Any] | None = None):
        options = dict(options or {})
        workers = options.get("workers", 1)
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ExptrackError(f"invalid --workers {workers!r}: expected a positive integer")
        self.workers = workers
        self.gpus = options.get("gpus", visible_gpus())
        self._running: dict[str, tuple[TrialLaunch, subprocess.Popen, str | None]] = {}
        self._kill_at: dict[str, float] = {}  # trial -> when a terminated trial gets SIGKILL

    @property
    def free_slots(self) -> int:
        return self.workers - len(self._running)

    def running(self) -> list[TrialLaunch]:
        return [t for t, _, _ in self._running.values()]

    def _free_gpu(self) -> str | None:
        if not self.gpus:
            return None
        used = [g for _, _, g in self._running.values()]
        return min(self.gpus, key=used.count)  # least-shared first

    def launch(self, trial: TrialLaunch) -> None:
        env = {**os.environ, **trial.env, "PYTHONUNBUFFERED": "1"}
        # A trial must start its own W&B service: through an inherited one, relative dirs
        # resolve against the service's working directory and the run's files are lost.
        env.pop("WANDB_SERVICE", None)
        gpu = self._free_gpu()
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        out = open(trial.run_dir / "stdout.log", "ab")
        err = open(trial.run_dir / "stderr.log", "ab")
        try:
            proc = subprocess.Popen(
                trial.argv, cwd=trial.cwd, env=env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        except OSError as exc:
            err.write(f"cannot start {trial.argv[:3]}: {exc}\n".encode())
            proc = None
        finally:
            out.close()
            err.close()
        if proc is None:
            self._running[trial.trial_id] = (trial, _Failed(), gpu)
        else:
            trial.pid = proc.pid  # the journal records it: a resumed sweep can find an orphan
            self._running[trial.trial_id] = (trial, proc, gpu)

    def poll(self) -> list[TrialExit]:
        done = []
        now = time.monotonic()
        for trial_id, (trial, proc, _) in list(self._running.items()):
            code = proc.poll()
            if code is None:
                if self._kill_at.get(trial_id, now + 1) <= now:
                    _signal_group(proc, signal.SIGKILL)  # it outlived its grace period
                continue
            del self._running[trial_id]
            if self._kill_at.pop(trial_id, None) is not None:
                _signal_group(proc, signal.SIGKILL)  # what it started dies with it
            tail = redacted_stderr(trial)  # secrets never stay in stderr.log, notes or journal
            error = tail if code != 0 else None
            done.append(TrialExit(trial, code, error))
        return done

    def terminate(self, trial_id: str, grace: float = 10.0) -> None:
        """SIGTERM one trial's process group now (a prune, a time limit) and SIGKILL it if still
        alive ``grace`` seconds later; never blocks: ``poll`` reports its exit."""
        entry = self._running.get(trial_id)
        if entry is None or trial_id in self._kill_at or entry[1].poll() is not None:
            return
        _signal_group(entry[1], signal.SIGTERM)
        self._kill_at[trial_id] = time.monotonic() + grace

    def cancel_all(self, grace: float = 10.0) -> list[TrialExit]:
        """SIGTERM every trial (each marks its run killed), SIGKILL what is left after ``grace``."""
        for _, proc, _ in self._running.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.time() + grace
        while time.time() < deadline and any(p.poll() is None for _, p, _ in self._running.values()):
            time.sleep(0.05)
        for _, proc, _ in self._running.values():
            _signal_group(proc, signal.SIGKILL)  # the leader, or what it left running
            proc.wait()
        self._kill_at.clear()
        return self.poll()


def _signal_group(proc: Any, sig: int) -> None:
    """Signal the trial's whole process group (it leads its own session)."""
    pid = getattr(proc, "pid", None)
    if pid is None:
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone


class _Failed:
    """Stands for a process that could not even start."""

    def poll(self) -> int:
        return 127

    def send_signal(self, sig: int) -> None:
        pass

    kill = wait = lambda self: None


__all__ = ["ProcessExecutor", "visible_gpus"]
