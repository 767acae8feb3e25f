"""Shared fixtures: every test works in its own directory with real files and real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
for var in ("EXPTRACK_DIR", "EXPTRACK_SWEEP_ID", "EXPTRACK_RUN_ID", "EXPTRACK_TRIAL_ID",
            "EXPTRACK_PARAMS", "EXPTRACK_BACKENDS", "EXPTRACK_EXPERIMENT"):
    os.environ.pop(var, None)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working directory; runs land in ./experiments."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
            check: bool = False) -> subprocess.CompletedProcess:
    """``exptrack ARGS`` as a user types it, in a child process."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "exptrack_core.cli", *args], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exptrack {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def run_python(code: str, cwd: Path, env: dict | None = None, timeout: float = 120
               ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """The contract for bad input: exit 2, one line on stderr naming the value, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


@pytest.fixture
def drawn(monkeypatch):
    """{absolute path written: the Figure saved there}, in the order they were saved."""
    from matplotlib.figure import Figure

    figures: dict[str, Figure] = {}
    save = Figure.savefig

    def keep(self, path, *args, **kwargs):
        figures[Path(path).absolute().as_posix()] = self
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures
