"""Tools of the reliability suite: directory snapshots, fake installed plugins, fault tallies."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Callable

# What the suite did, printed at the end of the pytest session (see conftest.py).
TALLY: Counter = Counter()


def count(what: str, n: int = 1) -> None:
    """``count("faults")``, ``count("bad inputs")``, ``count("records lost", n)``."""
    TALLY[what] += n


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its content hash (links by their target, dirs as 'dir')."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def tree_diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    added = [f"+{k}" for k in after if k not in before]
    removed = [f"-{k}" for k in before if k not in after]
    changed = [f"~{k}" for k in before if k in after and before[k] != after[k]]
    return added + removed + changed


def install_plugin(site: Path, dist: str, module: str, source: str,
                   entry_points: dict[str, str]) -> Path:
    """Install a plugin distribution the way pip lays it out (module + .dist-info with entry points)
    into ``site``; a process with ``site`` on PYTHONPATH finds it through importlib.metadata."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[exptrack]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    return site


def env_with(site: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


def start_python(code: str, cwd: Path, env: dict | None = None, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env or dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition: Callable[[], object], timeout: float = 60, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


__all__ = ["TALLY", "count", "env_with", "install_plugin", "snapshot", "start_python",
           "tree_diff", "wait_until"]
