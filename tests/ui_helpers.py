"""Real runs and a real sweep for the dashboard tests, and a real `exptrack ui` server process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import exptrack

XSS = "<img src=x onerror=alert(1)>"


def make_runs(n: int = 3) -> list[str]:
    """``n`` finished runs of experiment "cls", differing in lr; one logs the XSS probe."""
    ids = []
    for i in range(n):
        with exptrack.init(experiment="cls", params={"train": {"lr": 0.1 / (i + 1), "seed": i % 2},
                                                      "model": {"name": "resnet18"}}) as run:
            for step in range(20):
                run.log({"val_acc": 0.5 + 0.02 * step * (i + 1) / n, "train_loss": 1.0 / (step + 1)}, step=step)
            if i == 0:
                run.log({XSS: 1.0}, step=0)
            ids.append(run.id)
    return ids


def objective(params: dict) -> None:
    """A synthetic objective that depends mostly on x, a little on y, not at all on noise;
    it logs one value per step and asks the sweep's hyperband stopper after each."""
    with exptrack.init(experiment="synth") as run:
        final = (params["x"] - 0.3) ** 2 * 10 + (0.05 if params["y"] == "b" else 0.0)
        for step in range(1, 10):
            run.log({"loss": final + 1.0 / step}, step=step)
            if run.should_stop():
                run.finish("pruned")
                return


SWEEP = {"name": "synth", "method": "random", "metric": {"name": "loss", "goal": "minimize"},
         "run_cap": 16, "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
         "parameters": {"x": {"min": 0.0, "max": 1.0}, "y": {"values": ["a", "b"]},
                        "noise": {"min": 0.0, "max": 1.0}}}


def make_sweep() -> str:
    return exptrack.sweep(objective, SWEEP, seed=3).sweep_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UiServer:
    """``exptrack ui`` as a user starts it, in a child process; ``url`` is what it printed."""

    def __init__(self, root: Path, *extra: str):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exptrack_core.cli", "ui", "--dir", str(root), "--port",
             str(self.port), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        line = self.proc.stdout.readline()
        m = re.search(r"(http://\S+)", line)
        if not m:
            self.stop()
            raise AssertionError(f"exptrack ui printed {line!r}; stderr: {self.proc.stderr.read()}")
        self.printed, self.url = line, m.group(1)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime: what "read-only" is checked against."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            st = os.stat(os.path.join(dirpath, f))
            out[os.path.relpath(os.path.join(dirpath, f), root)] = (st.st_size, st.st_mtime_ns)
    return out


def wait_for(predicate, timeout: float = 10.0, every: float = 0.1):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > end:
            return value
        time.sleep(every)
