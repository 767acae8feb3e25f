"""What a run records about where it ran: code version, command, software, machine, seed."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from exptrack_core.environment import environment
from exptrack_core.secrets import redact_argv, redact_env

PACKAGES = ("exptrack", "torch", "torchvision", "timm", "numpy", "pandas", "scikit-learn", "dvc",
            "wandb", "tensorboard", "optuna")
# Environment variables worth keeping (values of secret-named ones are redacted anyway).
ENV_PREFIXES = ("EXPTRACK_", "CUDA_", "DVC_EXP", "WANDB_MODE", "OMP_NUM_THREADS", "SLURM_JOB_ID")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info(cwd: Path) -> dict[str, Any] | None:
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {"commit": commit, "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd),
            "dirty": bool(status)}


def package_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def cuda_info() -> dict[str, Any] | None:
    """CUDA facts, only when torch is already imported (exptrack never imports it for this)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        available = bool(torch.cuda.is_available())
        return {"cuda": torch.version.cuda, "available": available,
                "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                if available else []}
    except Exception:  # a broken CUDA install must not stop the run
        return None


def capture(params: dict[str, Any] | None = None, cwd: Path | None = None) -> dict[str, Any]:
    cwd = Path(cwd or os.getcwd())
    seed = None
    if params:
        seed = params.get("seed", (params.get("train") or {}).get("seed")
                          if isinstance(params.get("train"), dict) else None)
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    return {
        "git": git_info(cwd),
        "command": redact_argv([sys.executable, *sys.argv]),
        "cwd": str(cwd),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "packages": package_versions(),
        "environment": environment(),
        "cuda": cuda_info(),
        "seed": seed,
        "env": redact_env(env),
    }


__all__ = ["capture", "cuda_info", "environment", "git_info", "package_versions"]
