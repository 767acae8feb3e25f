"""The Python API a training script uses: exptrack.init, run.log, statuses, context."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import exptrack
from exptrack import ExptrackError

from .conftest import run_python


def test_a_run_records_params_metrics_and_completes(workdir):
    with exptrack.init(experiment="digits", params={"train": {"lr": 3e-4, "epochs": 2}},
                       tags={"team": "ml"}, description="baseline", backends=["local"],
                       dir="experiments") as run:
        for epoch in range(2):
            run.log({"train_loss": 0.5 - epoch / 10, "val_acc": 0.9 + epoch / 100}, step=epoch)
        run.log({"test_acc": 0.92})
    assert run.flat_params["train.lr"] == 3e-4
    record = exptrack.ExperimentTracker("experiments").get_run(run.id)
    assert record["status"] == "completed"
    assert record["tags"] == {"team": "ml"} and record["description"] == "baseline"
    assert record["params"] == {"train": {"lr": 3e-4, "epochs": 2}}
    assert [p["value"] for p in record["metrics"]["val_acc"]] == [0.9, 0.91]
    assert [p["step"] for p in record["metrics"]["val_acc"]] == [0, 1]
    assert record["metrics"]["test_acc"][0]["step"] is None
    history = (Path(record["run_dir"]) / "metrics.csv").read_text().splitlines()
    assert history[0] == "step,name,value,timestamp"
    assert len(history) == 1 + 5  # one line per value


def test_an_exception_marks_the_run_failed_with_its_message(workdir):
    with pytest.raises(ZeroDivisionError):
        with exptrack.init(experiment="e") as run:
            run.log({"loss": 1.0}, step=0)
            1 / 0
    record = exptrack.ExperimentTracker().get_run(run.id)
    assert record["status"] == "failed"
    assert "ZeroDivisionError" in record["note"]
    assert record["metrics"]["loss"][0]["value"] == 1.0


def test_a_non_numeric_metric_is_refused_by_name_and_nothing_is_written(workdir):
    with exptrack.init(experiment="e") as run:
        run.log({"loss": 0.5}, step=0)
        with pytest.raises(ExptrackError, match="'acc'.*'high'"):
            run.log({"loss": 0.4, "acc": "high"}, step=1)
    record = exptrack.ExperimentTracker().get_run(run.id)
    assert [p["value"] for p in record["metrics"]["loss"]] == [0.5]


def test_nan_and_inf_are_recorded_but_never_chosen_as_best(workdir):
    values = {"a": float("nan"), "b": float("inf"), "c": 0.5}
    for name, v in values.items():
        with exptrack.init(experiment="e", params={"name": name}) as run:
            run.log({"val_acc": v}, step=0)
    tracker = exptrack.ExperimentTracker()
    best = tracker.get_best_run("val_acc")
    assert best["params"] == {"name": "c"}
    recorded = {r["params"]["name"]: r["summary"]["val_acc"]["last"] for r in tracker.list_runs()}
    assert math.isnan(recorded["a"]) and math.isinf(recorded["b"])


def test_logging_after_finish_is_an_error(workdir):
    with exptrack.init(experiment="e") as run:
        pass
    with pytest.raises(ExptrackError, match="already completed"):
        run.log({"x": 1.0}, step=1)


def test_numpy_scalars_are_accepted(workdir):
    np = pytest.importorskip("numpy")
    with exptrack.init(experiment="e") as run:
        run.log({"x": np.float32(0.25), "n": np.int64(3)}, step=np.int64(1))
    assert exptrack.ExperimentTracker().get_run(run.id)["metrics"]["x"][0] == {
        "step": 1, "value": 0.25, "timestamp": pytest.approx(time.time(), abs=60)}


def test_artifacts_are_copied_into_the_run(workdir):
    ckpt = workdir / "best.pt"
    ckpt.write_bytes(b"weights")
    with exptrack.init(experiment="e") as run:
        dest = run.log_artifact(ckpt, name="model_best.pt")
    assert dest.read_bytes() == b"weights"
    assert exptrack.ExperimentTracker().get_run(run.id)["artifacts"] == ["model_best.pt"]


@pytest.mark.parametrize("bad", ["../escape", "a/b", "/abs", "x" * 256, "nul\x00name", ".."])
def test_unsafe_names_are_refused(workdir, bad):
    with pytest.raises(ExptrackError, match="invalid experiment name"):
        exptrack.init(experiment=bad)
    with exptrack.init(experiment="ok") as run:
        (workdir / "f").write_text("x")
        with pytest.raises(ExptrackError, match="invalid artifact name"):
            run.log_artifact(workdir / "f", name=bad)
    assert not (workdir / "escape").exists()


def test_context_records_git_command_versions_and_params_snapshot(workdir):
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "init"], check=True)
    (workdir / "params.yaml").write_text("train:\n  lr: 0.1\n  seed: 7\n")
    params = exptrack.load_params()
    with exptrack.init(experiment="e", params=params) as run:
        pass
    record = exptrack.ExperimentTracker().get_run(run.id)
    ctx = record["context"]
    assert len(ctx["git"]["commit"]) == 40 and ctx["git"]["dirty"] is False
    assert ctx["seed"] == 7
    assert ctx["python"] and ctx["hostname"] and "exptrack" in ctx["packages"]
    assert (Path(record["run_dir"]) / "params.yaml").read_text() == (workdir / "params.yaml").read_text()


def test_secrets_never_reach_any_record(workdir):
    code = ("import exptrack\n"
            "with exptrack.init(experiment='e') as run: run.log({'x': 1.0}, step=0)\n")
    proc = subprocess.run([sys.executable, "-c", code, "--api-token=tok-SENSITIVE1", "--password",
                           "pw-SENSITIVE2"], cwd=workdir, capture_output=True, text=True,
                          env={**os.environ, "EXPTRACK_API_KEY": "key-SENSITIVE3",
                               "CUDA_SECRET": "SENSITIVE4"})
    assert proc.returncode == 0, proc.stderr
    blob = "".join(p.read_text(errors="replace") for p in (workdir / "experiments").rglob("*")
                   if p.is_file())
    assert "exptrack.init" in blob or "-c" in blob  # the command itself was recorded
    assert "SENSITIVE" not in blob


def test_run_ids_are_unique_across_concurrent_processes(workdir):
    code = ("import exptrack\n"
            "for i in range(25):\n"
            "    with exptrack.init(experiment='e') as run: run.log({'i': i}, step=0)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=workdir) for _ in range(4)]
    assert all(p.wait(120) == 0 for p in procs)
    runs = exptrack.ExperimentTracker().list_runs("e")
    assert len(runs) == 100 and len({r["run_id"] for r in runs}) == 100


TRAIN_LOOP = """
import os, sys, time, exptrack
run = exptrack.init(experiment="e")
print(run.id, flush=True)
for step in range(100000):
    run.log({"loss": 1.0 / (step + 1)}, step=step)
    if step == 20:
        print("ready", flush=True)
    time.sleep(0.002)
"""


def _start_loop(workdir):
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_LOOP], cwd=workdir, stdout=subprocess.PIPE,
                            text=True)
    run_id = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "ready"
    return proc, run_id


def test_sigterm_marks_the_run_killed_and_keeps_its_steps(workdir):
    proc, run_id = _start_loop(workdir)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    record = exptrack.ExperimentTracker().get_run(run_id)
    assert record["status"] == "killed"
    steps = [p["step"] for p in record["metrics"]["loss"]]
    assert steps == list(range(len(steps))) and len(steps) > 20


def test_sigkill_loses_at_most_the_step_in_flight_and_never_shows_completed(workdir):
    proc, run_id = _start_loop(workdir)
    time.sleep(0.2)
    proc.kill()
    proc.wait(30)
    record = exptrack.ExperimentTracker().get_run(run_id)
    assert record["status"] == "crashed"  # its process is gone without finishing
    steps = [p["step"] for p in record["metrics"]["loss"]]
    assert steps == list(range(len(steps))) and len(steps) > 20
    assert record["summary"]["loss"]["count"] == len(steps)  # the summary catches up from history


def test_a_script_without_a_with_block_completes_at_exit_or_fails_on_an_exception(workdir):
    ok = run_python("import exptrack\nrun = exptrack.init(experiment='e')\n"
                    "run.log({'x': 1.0}, step=0)\nprint(run.id)", workdir)
    bad = run_python("import exptrack\nrun = exptrack.init(experiment='e')\nprint(run.id)\n"
                     "raise ValueError('boom')", workdir)
    tracker = exptrack.ExperimentTracker()
    assert tracker.get_run(ok.stdout.strip())["status"] == "completed"
    failed = tracker.get_run(bad.stdout.strip())
    assert failed["status"] == "failed" and "boom" in failed["note"]
