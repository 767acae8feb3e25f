"""A real Ray cluster on loopback for the tests and benchmarks: a head and two worker nodes.

Each node is its own ``ray start --block`` (its own session, temp dir and ports, a custom
resource naming it, no dashboard, usage stats off, a small object store). The head offers no CPU,
so every trial lands on a worker; the workers run as another Unix user (``exptrack-ray``) that
can neither read nor write the controller's experiments directory: nothing may rely on a shared
filesystem. Stopping a node stops exactly the processes of its session (found by session id in
/proc, signalled by pid), never ``ray stop``.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

WORKER_USER = "exptrack-ray"
OBJECT_STORE = "80000000"
# Loopback, but not 127.0.0.1: Ray replaces that one by the address of the machine's network
# interface (ray._private.services.resolve_ip_for_localhost); 127.0.0.2 stays on lo.
NODE_IP = "127.0.0.2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((NODE_IP, 0))
        return s.getsockname()[1]


def cannot_run() -> str | None:
    """Why this machine cannot host the cluster (the tests skip, saying so), or None."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "Ray is not installed (pip install 'exptrack[ray]')"
    if os.geteuid() != 0:
        return "the worker nodes run as another Unix user: needs root (useradd, runuser)"
    if not shutil.which("runuser") or not shutil.which("useradd"):
        return "needs runuser and useradd to run the worker nodes as another user"
    return None


def _worker_user() -> str:
    try:
        pwd.getpwnam(WORKER_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", WORKER_USER], check=True)
    return WORKER_USER


def _as_user(user: str, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv]


def worker_python(user: str) -> str:
    """A Python the worker user can run that sees this environment's packages (Ray, exptrack):
    this interpreter where the user can reach it, else a small venv of the system's Python of the
    same minor version, its site-packages pointing at ours."""
    probe = "import ray, exptrack, exptrack_plugins.ray.node"
    if subprocess.run(_as_user(user, [sys.executable, "-c", probe]), capture_output=True).returncode == 0:
        return sys.executable
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    base = next((p for p in (f"/usr/bin/{version}", f"/usr/local/bin/{version}") if os.access(p, os.X_OK)), None)
    if base is None:
        raise RuntimeError(f"no {version} outside {sys.prefix} for the worker user")
    venv = Path(tempfile.gettempdir()) / f"rt-py{sys.version_info[0]}{sys.version_info[1]}"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    ours = sysconfig.get_paths()["purelib"]
    (site / "exptrack-controller.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    venv.chmod(0o755)
    check = subprocess.run(_as_user(user, [str(py), "-c", probe]), capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"the worker user cannot import Ray and exptrack: {check.stderr[-400:]}")
    return str(py)


class Node:
    def __init__(self, name: str, proc: subprocess.Popen, temp_dir: Path):
        self.name, self.proc, self.temp_dir = name, proc, temp_dir

    def pids(self) -> list[int]:
        """Every live process of this node's session (it leads its own)."""
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[3]) == self.proc.pid and fields[0] != "Z":  # session id, state
                    out.append(int(entry.name))
        return out

    def kill(self, sig: int = signal.SIGKILL) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.time() + 10
        while self.pids() and time.time() < deadline:
            time.sleep(0.2)
        self.kill()  # what outlived it
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class RayCluster:
    """Head (no CPUs, resource ``head``) and workers ``node_a``/``node_b`` (1 CPU each, resource
    ``worker`` 1 each plus their own name), all on the loopback address NODE_IP."""

    def __init__(self, workers: tuple[str, ...] = ("node_a", "node_b"), cpus: int = 1):
        self.tag = f"rt-{os.getpid()}-{os.urandom(2).hex()}"
        self.port = _free_port()
        self.address = f"{NODE_IP}:{self.port}"
        self.nodes: dict[str, Node] = {}
        self.user = _worker_user()
        self.worker_python = worker_python(self.user)
        self.env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
                    # a lost node is noticed within seconds, not the default half minute
                    "RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4",
                    "RAY_health_check_initial_delay_ms": "0", "RAY_health_check_timeout_ms": "1000",
                    # the workers' system Python may differ from ours in the patch level only
                    "RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL": "minor"}
        self.env.pop("RAY_ADDRESS", None)
        try:
            self._start("head", sys.executable, None, ["--head", f"--port={self.port}", "--num-cpus=0",
                                                       "--include-dashboard=false",
                                                       '--resources={"head": 1}'])
            for name in workers:
                self._start(name, self.worker_python, self.user,
                            [f"--address={self.address}", f"--num-cpus={cpus}",
                             "--resources=" + json.dumps({name: 1, "worker": 1})])
            self.wait_nodes(1 + len(workers))
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, python: str, user: str | None, args: list[str]) -> None:
        temp = Path(tempfile.gettempdir()) / f"{self.tag}-{name[-1]}"
        argv = [python, "-m", "ray.scripts.scripts", "start", "--block",
                f"--node-ip-address={NODE_IP}", "--disable-usage-stats", f"--temp-dir={temp}",
                f"--object-store-memory={OBJECT_STORE}",
                f"--dashboard-agent-listen-port={_free_port()}",
                f"--metrics-export-port={_free_port()}", *args]
        log = open(Path(tempfile.gettempdir()) / f"{self.tag}-{name}.log", "ab")
        proc = subprocess.Popen(_as_user(user, argv) if user else argv, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd="/")
        log.close()
        self.nodes[name] = Node(name, proc, temp)

    def alive_nodes(self) -> list[dict]:
        """The GCS's node table, read by a short-lived driver (this process never joins Ray)."""
        code = ("import json, ray; ray.init(address=%r, logging_level='ERROR', log_to_driver=False);"
                "print(json.dumps([{'id': n['NodeID'], 'resources': n['Resources']} "
                "for n in ray.nodes() if n['Alive']]))" % self.address)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=self.env, timeout=120)
        return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else []

    def node_ids(self) -> dict[str, str]:
        """Node name (its custom resource) -> Ray node id."""
        return {name: n["id"] for n in self.alive_nodes() for name in self.nodes
                if n["resources"].get(name) or (name == "head" and "head" in n["resources"])}

    def wait_nodes(self, n: int, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, node in self.nodes.items():
                if node.proc.poll() is not None:
                    log = Path(tempfile.gettempdir()) / f"{self.tag}-{name}.log"
                    raise RuntimeError(f"ray node {name} exited: {log.read_text()[-2000:]}")
            if len(self.alive_nodes()) >= n:
                return
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not get {n} nodes in {timeout}s")

    def node_of(self, pid: int) -> str | None:
        """Which node a process runs under (its parent chain reaches that node's session)."""
        while pid > 1:
            for name, node in self.nodes.items():
                if pid in node.pids():
                    return name
            try:
                pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                return None
        return None

    def all_pids(self) -> set[int]:
        return {pid for node in self.nodes.values() for pid in node.pids()}

    def stop(self) -> None:
        for name in reversed(list(self.nodes)):
            self.nodes[name].stop()
        uid = pwd.getpwnam(self.user).pw_uid  # the scratch a killed node could not remove
        for scratch in Path(tempfile.gettempdir()).glob("exptrack-trial-*"):
            if scratch.stat().st_uid == uid:
                shutil.rmtree(scratch, ignore_errors=True)
        for name, node in self.nodes.items():
            shutil.rmtree(node.temp_dir, ignore_errors=True)
            try:
                os.unlink(Path(tempfile.gettempdir()) / f"{self.tag}-{name}.log")
            except OSError:
                pass


__all__ = ["RayCluster", "WORKER_USER", "cannot_run"]
