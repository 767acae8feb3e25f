"""The pipeline under DVC, as a user drives it: ``dvc exp run -S``, ``dvc exp show``, ``dvc exp apply``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}


def sh(*cmd: str, cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git + DVC repository holding the pipeline, committed, as a user's project would be."""
    root = tmp_path / "project"
    root.mkdir()
    sh("git", "init", "-q", cwd=root)
    sh("git", "config", "user.name", "Test User", cwd=root)
    sh("git", "config", "user.email", "test@example.com", cwd=root)
    for name in ("params.yaml", "dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "stages", root / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text("/experiments/\n__pycache__/\n")
    sh("dvc", "init", "-q", cwd=root)
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", "pipeline", cwd=root)
    return root


def experiments(show: list[dict]) -> dict[str, dict]:
    """``dvc exp show --json`` as {experiment name: its data (params, metrics)}."""
    out = {}
    for baseline in show:
        for group in baseline.get("experiments") or []:
            for rev in group["revs"]:
                out[rev["name"]] = rev["data"]
    return out


def test_dvc_exp_run_records_params_metrics_and_a_checkpoint_that_exp_apply_restores(repo):
    sh("dvc", "exp", "run", "-n", "lr-3e-4", "-S", "train.lr=3e-4", "-S", "train.epochs=1",
       cwd=repo)
    trained = {name: sha256(repo / "checkpoints" / name) for name in ("best.pt", "last.pt")}

    exp = experiments(json.loads(sh("dvc", "exp", "show", "--json", cwd=repo)))["lr-3e-4"]
    params = exp["params"]["params.yaml"]["data"]
    assert params["train"]["lr"] == 3e-4 and params["train"]["epochs"] == 1
    assert params["model"]["name"] == "small_cnn"
    train_metrics = exp["metrics"]["metrics/train.json"]["data"]
    eval_metrics = exp["metrics"]["metrics/eval.json"]["data"]
    assert train_metrics["step"] == 1 and 0 <= train_metrics["val_acc"] <= 1
    assert 0 <= eval_metrics["test_acc"] <= 1 and eval_metrics["checkpoint_epoch"] == 1
    assert exp["outs"]["checkpoints"]["use_cache"] is True

    # the workspace moves on: params back to the baseline, the checkpoint damaged and gone
    sh("git", "checkout", "--", "params.yaml", cwd=repo)
    (repo / "checkpoints/best.pt").write_bytes(b"something else")
    (repo / "checkpoints/last.pt").unlink()
    sh("dvc", "exp", "apply", "lr-3e-4", cwd=repo)
    assert {name: sha256(repo / "checkpoints" / name) for name in trained} == trained
    assert "lr: 0.0003" in (repo / "params.yaml").read_text()
    # DVC keeps the cached outputs out of git; metrics and plots are small files git versions
    ignored = sh("git", "status", "--short", "--ignored", cwd=repo)
    assert "!! checkpoints/" in ignored and "!! data/prepared/" in ignored
