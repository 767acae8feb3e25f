"""Connecting to a Ray cluster, and what a trial asks of it.

Every setup error is one ``ExptrackError`` line raised before the sweep's record exists: Ray not
installed, an address nobody answers at, a bad ``--resources``, a request no node can meet (after
waiting ``EXPTRACK_RAY_WAIT_S`` seconds, default 60, for a node that can to join).
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError

# Never shipped to the nodes: the record, VCS and cache directories, virtual environments.
EXCLUDES = ["/.git/", "__pycache__/", "/.dvc/cache/", "/.dvc/tmp/", "/.venv*/", "/wandb/"]
REFRESH_S = 2.0  # how long the cluster's node list is trusted


def _amount(flag: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise ExptrackError(f"invalid {flag} {value!r}: expected a number >= 0")
    return number


def trial_resources(options: Mapping[str, Any]) -> dict[str, Any]:
    """The actor options for one trial: ``num_cpus``, ``num_gpus``, custom ``resources``."""
    cpus = _amount("--cpus-per-trial", options.get("cpus_per_trial", 1))
    gpus = _amount("--gpus-per-trial", options.get("gpus_per_trial", 0))
    raw = options.get("resources") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        raise ExptrackError(f"invalid --resources {options.get('resources')!r}: expected a JSON "
                            'object of resource names to amounts, e.g. \'{"node_a": 1}\'')
    custom = {str(k): _amount(f"--resources {k}", v) for k, v in raw.items()}
    if not cpus and not gpus and not any(custom.values()):
        raise ExptrackError("a Ray trial must ask for something: --cpus-per-trial, "
                            "--gpus-per-trial or --resources above 0")
    return {"num_cpus": cpus, "num_gpus": gpus, "resources": custom}


def _wanted(request: Mapping[str, Any]) -> dict[str, float]:
    want = {"CPU": request["num_cpus"], "GPU": request["num_gpus"], **request["resources"]}
    return {k: v for k, v in want.items() if v > 0}


class Cluster:
    def __init__(self, address: str | None, cwd: Path, root: Path | None = None):
        self.address = address
        self.where = f"the Ray cluster at {address}" if address else "the local Ray"
        self.wait_s = float(os.environ.get("EXPTRACK_RAY_WAIT_S", "60"))
        self._nodes: list[dict[str, Any]] = []
        self._read_at = -math.inf
        self._connect(cwd, root)

    def _connect(self, cwd: Path, root: Path | None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ExptrackError(f"--executor ray needs Ray to reach {self.where}: "
                                f"pip install 'exptrack[ray]' ({exc})") from None
        if self.address:
            host, _, port = self.address.rpartition(":")
            if not host or not port.isdigit():
                raise ExptrackError(f"invalid --ray-address {self.address!r}: expected HOST:PORT")
            try:
                socket.create_connection((host, int(port)), timeout=5).close()
            except OSError as exc:
                raise ExptrackError(f"cannot reach the Ray cluster at {self.address}: "
                                    f"{exc.strerror or exc}") from None
        if ray.is_initialized():
            return  # a program driving Ray itself: its connection and runtime env stand
        excludes = list(EXCLUDES)
        if root is not None:
            try:
                excludes.append("/" + Path(root).resolve().relative_to(cwd.resolve()).as_posix() + "/")
            except ValueError:
                pass  # the record is outside the project: nothing of it is shipped anyway
        try:
            ray.init(address=self.address, runtime_env={"working_dir": str(cwd), "excludes": excludes},
                     include_dashboard=False if not self.address else None,
                     log_to_driver=False, logging_level="ERROR", namespace="exptrack")
        except Exception as exc:  # Ray raises many kinds; the user needs the address and why
            raise ExptrackError(f"cannot use {self.where}: {type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}") from None

    def nodes(self) -> list[dict[str, Any]]:
        if time.monotonic() - self._read_at > REFRESH_S:
            import ray

            self._nodes = [n for n in ray.nodes() if n.get("Alive")]
            self._read_at = time.monotonic()
        return self._nodes

    def capacity(self, request: Mapping[str, Any]) -> int:
        """How many such trials the alive nodes hold at once (each trial on one node)."""
        want = _wanted(request)
        return sum(min(int(n.get("Resources", {}).get(k, 0) // v) for k, v in want.items())
                   for n in self.nodes())

    def missing(self, request: Mapping[str, Any]) -> str:
        """One line naming what no node offers, or "" when some node can run the trial."""
        if self.capacity(request):
            return ""
        want = _wanted(request)
        nodes = self.nodes()
        lacking = [f"{k}: {v:g}" for k, v in want.items()
                   if not any(n.get("Resources", {}).get(k, 0) >= v for n in nodes)]
        offers = "; ".join(
            f"{n.get('NodeManagerAddress')}: " + ", ".join(
                f"{k} {v:g}" for k, v in sorted(n.get("Resources", {}).items())
                if not k.startswith(("node:", "memory", "object_store_memory")))
            for n in nodes) or "no nodes"
        what = ", ".join(lacking) if lacking else "all of " + ", ".join(
            f"{k}: {v:g}" for k, v in want.items()) + " on one node"
        return (f"no node of {self.where} offers {what} per trial "
                f"(--cpus-per-trial/--gpus-per-trial/--resources); the nodes offer: {offers}")

    def wait_for(self, request: Mapping[str, Any]) -> None:
        """Wait up to ``wait_s`` for a node that can run the trial (an autoscaler may add one)."""
        deadline = time.monotonic() + self.wait_s
        while not self.capacity(request):
            if time.monotonic() >= deadline:
                raise ExptrackError(f"{self.missing(request)} (waited {self.wait_s:g}s)")
            time.sleep(0.5)
            self._read_at = -math.inf


__all__ = ["Cluster", "trial_resources"]
