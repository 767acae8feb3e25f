"""The node side of a Ray trial: one actor per trial, holding the trial's resources on its node.

The actor recreates the trial's run directory in node-local scratch space, starts the trial's
command there in its own process group (in the node-local copy of the project Ray unpacked as
this worker's working directory), and answers the controller's ``pull`` with what the trial wrote
since the last one (``sync.RunScanner``). ``stop`` is the sweep's early-stopping verdict: a flag
file the trial's ``run.should_stop()`` reads (``EXPTRACK_STOP_FILE``). ``terminate`` stops the group.
Nothing here imports the controller's files: the node may not be able to read them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import ray

from exptrack_plugins.executors.process import _die_with_parent  # the trial dies with its actor
from exptrack_plugins.ray.sync import RunScanner

SCAN_S = 0.1  # how often a waiting pull looks at the run directory again


def _remap(text: str, moves: list[tuple[str, str]]) -> str:
    """The controller's paths in an env value or argument, as this node's: an absolute one
    anywhere in the text, a relative one (``experiments/...``) only where the text starts."""
    for old, new in moves:
        if os.path.isabs(old):
            text = text.replace(old, new)
        elif text == old or text.startswith(old + "/"):
            text = new + text[len(old):]
    return text


@ray.remote(max_concurrency=4)  # pull, stop and terminate answer while a pull waits
class TrialRunner:
    def __init__(self, spec: dict[str, Any]):
        self.scratch = Path(tempfile.mkdtemp(prefix="exptrack-trial-"))
        root = self.scratch / "experiments"
        self.run_dir = root / spec["experiment"] / spec["run_id"]
        for rel, data in spec["files"].items():
            path = self.run_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (self.run_dir / "artifacts").mkdir(exist_ok=True)
        self.scanner = RunScanner(self.run_dir)
        self.stop_flag = self.run_dir / ".stop"
        # The controller's paths mean nothing here: its run dir, its root, its Python.
        moves = [(old, str(self.run_dir)) for old in spec["run_dirs"]] + \
            [(old, str(root)) for old in spec["roots"]]
        env = {**os.environ, **{k: _remap(v, moves) for k, v in spec["env"].items()},
               "PYTHONUNBUFFERED": "1", "EXPTRACK_STOP_FILE": str(self.stop_flag),
               "TMPDIR": str(self.scratch)}
        env.pop("WANDB_SERVICE", None)
        argv = [sys.executable if a == spec["python"] else _remap(a, moves) for a in spec["argv"]]
        ctx = ray.get_runtime_context()
        self.node = {"node_id": ctx.get_node_id(), "host": socket.gethostname(),
                     "ip": ray.util.get_node_ip_address(), "scratch": str(self.scratch),
                     "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
        self.code: int | None = None
        self.lock = threading.Lock()
        with open(self.run_dir / "stdout.log", "ab") as out, \
                open(self.run_dir / "stderr.log", "ab") as err:
            try:
                self.proc = subprocess.Popen(
                    argv, cwd=os.getcwd(), env=env, stdout=out, stderr=err,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                    preexec_fn=_die_with_parent)
            except OSError as exc:
                err.write(f"cannot start {argv[:3]} on {self.node['host']}: {exc}\n".encode())
                self.proc, self.code = None, 127
        self.node["pid"] = self.proc.pid if self.proc else None

    def pull(self, wait: float = 0.5) -> dict[str, Any]:
        """What changed since the last pull; waits up to ``wait`` s for something to change.
        ``exit`` is set once the trial has ended and everything it wrote is in this batch."""
        deadline = time.monotonic() + wait
        with self.lock:  # one pull at a time: offsets advance in order
            while True:
                code = self._exit_code()
                batch = self.scanner.scan()
                if code is not None or batch["rows"] or batch["files"] or len(batch) > 2 \
                        or time.monotonic() >= deadline:
                    break
                time.sleep(SCAN_S)
        batch["node"] = self.node
        batch["exit"] = code
        if code is not None:  # the batch holds all it wrote: the scratch space may go now
            self._kill_group(signal.SIGKILL)  # what it left behind dies with it
            shutil.rmtree(self.scratch, ignore_errors=True)
        return batch

    def _exit_code(self) -> int | None:
        if self.proc is not None and self.code is None:
            self.code = self.proc.poll()
        return self.code

    def stop(self) -> None:
        """The sweep's stopper says this trial should stop: ``run.should_stop()`` sees it."""
        self.stop_flag.touch()

    def terminate(self, grace: float = 10.0) -> None:
        """SIGTERM the trial's process group now, SIGKILL it ``grace`` s later if still alive."""
        if self._exit_code() is not None:
            return
        self._kill_group(signal.SIGTERM)
        timer = threading.Timer(grace, self._kill_group, (signal.SIGKILL,))
        timer.daemon = True
        timer.start()

    def _kill_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        """The controller has the last batch: stop anything left and free the scratch space."""
        self._kill_group(signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)


__all__ = ["TrialRunner"]
