"""`exptrack sweep --executor dvc`: each trial a DVC experiment of the real pipeline, 1 epoch."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from .conftest import REPO, assert_one_line_error, run_cli

pytestmark = pytest.mark.slow


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def dvc_repo(tmp_path):
    repo = tmp_path / "project"
    repo.mkdir()
    for name in ("params.yaml", "dvc.yaml", ".dvcignore"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, repo / name)
    shutil.copytree(REPO / "stages", repo / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / ".gitignore").write_text("experiments/\n__pycache__/\n")
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "test")
    _git(repo, "config", "user.email", "test@example.com")
    subprocess.run(["dvc", "init", "-q"], cwd=repo, check=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "init")
    return repo


def test_sweep_trials_are_dvc_experiments_with_params_metrics_and_checkpoints(dvc_repo):
    proc = run_cli("sweep", "--executor", "dvc", "--workers", "2", "--trials", "2",
                   "-S", "train.epochs=1", "--quiet", cwd=dvc_repo, check=True)
    assert "2 completed" in proc.stdout, proc.stdout + proc.stderr
    sweep_id = json.loads(run_cli("sweeps", "--json", cwd=dvc_repo, check=True).stdout)[0]["sweep_id"]

    shown = json.loads(subprocess.run(["dvc", "exp", "show", "--json"], cwd=dvc_repo, check=True,
                                      capture_output=True, text=True).stdout)
    exps = {e["name"]: e for top in shown for e in (top.get("experiments") or [])
            for e in [e["revs"][0]] if e.get("name")}
    names = {f"{sweep_id}-t0001", f"{sweep_id}-t0002"}
    assert names <= set(exps), list(exps)
    for name in names:
        data = exps[name]["data"]
        params = data["params"]["params.yaml"]["data"]
        assert params["train"]["epochs"] == 1
        metric_files = data["metrics"]
        values = {k for f in metric_files.values() for k in f["data"]}
        assert "val_acc" in values and ("test_acc" in values or "accuracy" in values), metric_files

    best = yaml.safe_load(run_cli("best", "--sweep", sweep_id, "--metric", "val_acc",
                                  cwd=dvc_repo, check=True).stdout)
    restore = best["restore"]
    assert restore.startswith("dvc exp apply ") and restore.split()[-1] in names
    subprocess.run(restore.split(), cwd=dvc_repo, check=True, capture_output=True)
    import torch

    ckpt = torch.load(dvc_repo / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    restored = yaml.safe_load((dvc_repo / "params.yaml").read_text())
    assert restored["train"]["lr"] == best["params"]["train"]["lr"]
    assert ckpt is not None


def test_outside_a_dvc_project_it_says_what_to_run(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    assert_one_line_error(run_cli("sweep", "--executor", "dvc", cwd=tmp_path),
                          "needs a git repository", "git init")
    _git(tmp_path, "init", "-q")
    assert_one_line_error(run_cli("sweep", "--executor", "dvc", cwd=tmp_path),
                          "needs a DVC project", "dvc init")
