"""The ``system`` backend: CPU %, memory and (with NVIDIA GPUs) each GPU's use, sampled on a
background thread every ``interval`` seconds and recorded in the run as ``system/*`` metrics.

Unlike the other backends it is a source, not a mirror: its samples go into the run's own record
(``Run.log_sample``: step = the sample's number, timestamp = when it was taken), never through
``run.log``, so the training thread never waits for it and the steps of the other backends (W&B
keeps its steps increasing) are left alone. W&B and TensorBoard do not receive them.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.plugin.interfaces import RunInfo
from exptrack_core.plugin.options import check_options

ACCEPTED = {"interval": float, "gpu": bool}
DEFAULT_INTERVAL = 5.0
MB = 2 ** 20


def process_tree_rss(proc: Any) -> float:
    """Resident memory of the process and its children (DataLoader workers, subprocesses), MB."""
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass  # a child that just ended
    return total / MB


class Gpus:
    """Each NVIDIA GPU's utilisation and memory through NVML; absent (no device, no driver, no
    nvidia-ml-py) means no GPU metrics and nothing said: the run records what exists."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                            for i in range(pynvml.nvmlDeviceGetCount())]
            self.nvml = pynvml
        except Exception:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError...
            self.handles = []

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, handle in enumerate(self.handles):
            util = self.nvml.nvmlDeviceGetUtilizationRates(handle)
            mem = self.nvml.nvmlDeviceGetMemoryInfo(handle)
            out[f"system/gpu.{i}.utilization_percent"] = float(util.gpu)
            out[f"system/gpu.{i}.memory_used_mb"] = mem.used / MB
            out[f"system/gpu.{i}.memory_percent"] = 100.0 * mem.used / mem.total if mem.total else 0.0
        return out

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass


def sample(proc: Any, gpus: Gpus | None) -> dict[str, float]:
    import psutil

    out = {"system/cpu_percent": psutil.cpu_percent(interval=None),  # since the last call
           "system/memory_percent": psutil.virtual_memory().percent,
           "system/proc_rss_mb": process_tree_rss(proc)}
    if gpus is not None:
        out.update(gpus.sample())
    return out


class SystemBackend:
    def __init__(self, run: RunInfo, options: Mapping[str, Any] | None = None):
        import psutil

        opts = check_options("system", options, ACCEPTED)
        self.interval = opts.get("interval", DEFAULT_INTERVAL)
        if not self.interval > 0:
            from exptrack_core.errors import ExptrackError

            raise ExptrackError(f"invalid option interval {self.interval!r} for backend 'system'; "
                                "expected seconds > 0")
        self.run_id = run.run_id
        self.proc = psutil.Process()
        self.gpus = Gpus() if opts.get("gpu", True) else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="exptrack-system", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from exptrack_core.run import active_run

        import psutil

        # the first call only starts the measurement, and psutil keeps it per thread (>= 5.9.6):
        # made on any other thread, this thread's first sample would read 0.0
        psutil.cpu_percent(interval=None)
        step = 0
        while not self._stop.wait(self.interval):
            run = active_run(self.run_id)
            if run is None:  # not registered yet (it is, right after init), or already ended
                continue
            try:
                if not run.log_sample(sample(self.proc, self.gpus), step, time.time()):
                    return  # the run ended
            except Exception as exc:  # a full disk, a vanished device: the run goes on without
                print(f"exptrack: warning: backend 'system' stopped sampling ({type(exc).__name__}: "
                      f"{exc}); the run and its record are unaffected", file=sys.stderr)
                return
            step += 1

    # a source, not a mirror: what the run logs is not its concern
    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None:
        pass

    def log_artifact(self, path: Path, name: str) -> None:
        pass

    def finish(self, status: str) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        if self.gpus is not None:
            self.gpus.close()
