"""The wandb backend: an exptrack run becomes a W&B offline run, read back from the files W&B wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import exptrack
from exptrack import ExptrackError
from exptrack_core.plugin.interfaces import RunInfo
from exptrack_plugins.wandb.records import find_run_files, read_run
from exptrack_plugins.wandb.backend import WandbBackend


def the_wandb_run(run_dir):
    files = find_run_files(run_dir / "wandb")
    assert len(files) == 1, files
    return read_run(files[0])


def test_a_run_with_the_wandb_backend_is_a_wandb_offline_run_in_its_own_dir(workdir):
    params = {"train": {"lr": 3e-4, "epochs": 3}, "model": {"name": "resnet18"}}
    with exptrack.init(experiment="digits", params=params, tags={"team": "ml", "data": "v2"},
                       description="baseline", backends="local,wandb") as run:
        for epoch in range(3):
            run.log({"train_loss": 1.0 / (epoch + 1)}, step=epoch)
            run.log({"val_acc": 0.8 + epoch / 10}, step=epoch)  # same step: one W&B row
        run.log({"test_acc": 0.91})
    assert run.backend_failures == {}
    wb = the_wandb_run(run.dir)
    assert wb.config == params
    assert [row["_step"] for row in wb.history] == [0, 1, 2]
    assert [row["train_loss"] for row in wb.history] == pytest.approx([1.0, 0.5, 1 / 3])
    assert [row["val_acc"] for row in wb.history] == pytest.approx([0.8, 0.9, 1.0])
    assert wb.summary["test_acc"] == 0.91 and wb.summary["exptrack_status"] == "completed"
    assert wb.run["name"] == run.id and wb.run["job_type"] == "digits"
    assert wb.run["tags"] == ["team:ml", "data:v2"] and wb.run["notes"] == "baseline"
    assert wb.run["group"] == "" and wb.exit_code == 0


def test_sweep_trials_share_the_sweep_id_as_their_wandb_group(tmp_path):
    runs = []
    for trial, status in (("1", "completed"), ("2", "pruned")):
        info = RunInfo(run_id=f"run-{trial}", experiment="digits",
                       run_dir=tmp_path / "digits" / f"run-{trial}", params={"lr": float(trial)},
                       sweep_id="sweep-7", trial_id=trial)
        backend = WandbBackend(info, {})
        backend.log_metrics({"val_acc": 0.5}, 0, 0.0)
        backend.finish(status)
        runs.append(the_wandb_run(info.run_dir))
    assert [r.run["group"] for r in runs] == ["sweep-7", "sweep-7"]
    assert [r.exit_code for r in runs] == [0, 1]  # W&B knows finished or not; the status says why
    assert [r.summary["exptrack_status"] for r in runs] == ["completed", "pruned"]


def test_params_logged_later_merge_into_the_nested_config(tmp_path):
    info = RunInfo(run_id="r1", experiment="digits", run_dir=tmp_path / "digits" / "r1",
                   params={"train": {"lr": 0.1, "epochs": 2}})
    backend = WandbBackend(info, {})
    backend.log_params({"train": {"warmup": 5}, "n_params": 11_000_000})
    backend.finish("completed")
    assert the_wandb_run(info.run_dir).config == {
        "train": {"lr": 0.1, "epochs": 2, "warmup": 5}, "n_params": 11_000_000}


def test_a_step_going_backwards_is_left_out_of_wandb_with_one_warning(tmp_path, capsys):
    info = RunInfo(run_id="r1", experiment="digits", run_dir=tmp_path / "digits" / "r1")
    backend = WandbBackend(info, {})
    for step in (0, 5, 3, 2, 6):
        backend.log_metrics({"loss": float(step)}, step, 0.0)
    backend.finish("completed")
    assert [row["_step"] for row in the_wandb_run(info.run_dir).history] == [0, 5, 6]
    assert capsys.readouterr().err.count("step 3 comes after step 5") == 1


def test_files_become_wandb_artifacts_only_when_asked(tmp_path):
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    found = {}
    for asked in (False, True):
        info = RunInfo(run_id=f"r-{asked}", experiment="digits",
                       run_dir=tmp_path / "digits" / f"r-{asked}")
        backend = WandbBackend(info, {"artifacts": asked})
        backend.log_artifact(model, "model.pt")
        backend.finish("completed")
        found[asked] = the_wandb_run(info.run_dir).artifacts
    assert found[False] == []
    assert [(a["name"], a["artifact_type"], a["files"]) for a in found[True]] == [
        ("model.pt", "file", ["model.pt"])]


def test_a_bad_option_is_refused_naming_it_and_what_is_accepted(tmp_path):
    info = RunInfo(run_id="r1", experiment="digits", run_dir=tmp_path / "r1")
    with pytest.raises(ExptrackError, match=r"mode='cloud'.*online, offline, disabled"):
        WandbBackend(info, {"mode": "cloud"})
    with pytest.raises(ExptrackError, match=r"unknown option 'projekt'.*accepted: artifacts"):
        WandbBackend(info, {"projekt": "x"})


def test_two_runs_in_one_process_each_finish_and_the_offline_notice_is_said_once(tmp_path):
    script = textwrap.dedent("""
        import exptrack
        for lr in (0.1, 0.01):
            with exptrack.init(experiment="digits", params={"lr": lr}, backends="local,wandb") as run:
                run.log({"loss": lr}, step=0)
    """)
    env = {k: v for k, v in os.environ.items()
           if k not in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_SERVICE")}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**env, "NETRC": str(tmp_path / "none")})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("wandb sync ") == 1 and "no W&B API key found" in proc.stderr
    files = find_run_files(tmp_path / "experiments")
    runs = [read_run(f) for f in files]
    assert sorted(r.config["lr"] for r in runs) == [0.01, 0.1]
    assert [r.exit_code for r in runs] == [0, 0]


def test_a_crashing_script_prints_its_traceback_once_and_its_wandb_run_ends_failed(tmp_path):
    script = textwrap.dedent("""
        import time
        import exptrack
        run = exptrack.init(experiment="digits", backends="local,wandb")
        run.log({"loss": 0.5}, step=0)
        while "wandb" not in run._fanout._backends:  # W&B starts on the background thread
            time.sleep(0.05)
        raise ValueError("boom")
    """)
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 1
    assert proc.stderr.count("Traceback") == 1 and "ValueError: boom" in proc.stderr
    assert "failed in finish" not in proc.stderr  # finished before wandb tore its service down
    wb = read_run(find_run_files(tmp_path / "experiments")[0])
    assert wb.exit_code == 1 and wb.summary["exptrack_status"] == "failed"
    assert [row["loss"] for row in wb.history] == [0.5]


def test_online_mode_without_an_api_key_is_refused_instead_of_prompting(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    info = RunInfo(run_id="r1", experiment="digits", run_dir=tmp_path / "r1")
    with pytest.raises(ExptrackError, match=r"mode 'online' needs an API key.*wandb login"):
        WandbBackend(info, {"mode": "online"})
    assert not (tmp_path / "r1").exists()
