"""``EXPTRACK_RUN_ID`` joins only the run a sweep created for that trial, while it is pending.

A stray id (a finished run, a run of another experiment, or the id a trial's child process
inherits) is refused in one line, and the run it names is left as it was.
"""

from __future__ import annotations

import json
import textwrap

import pytest

import exptrack

from .conftest import run_cli, run_python

JOIN = textwrap.dedent("""
    import exptrack
    try:
        with exptrack.init(experiment="other", params={"lr": 9.0}) as run:
            run.log({"loss": 1.0}, step=0)
        print("joined", run.id)
    except exptrack.ExptrackError as exc:
        print("refused:", exc)
    """)


def _join(workdir, **env) -> str:
    proc = run_python(JOIN, workdir, env={k.upper(): v for k, v in env.items()})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def finished(workdir):
    tracker = exptrack.ExperimentTracker("experiments")
    run_id = tracker.create_run("first", description="a finished run")
    tracker.log_params(run_id, {"lr": 0.1})
    tracker.log_metrics(run_id, {"loss": 0.5}, step=0)
    tracker.finish_run(run_id, status="completed")
    return run_id, tracker.get_run(run_id)


def test_a_stray_run_id_of_a_finished_run_of_another_experiment_is_refused(workdir, finished):
    run_id, before = finished
    out = _join(workdir, exptrack_run_id=run_id)
    assert out.startswith("refused: EXPTRACK_RUN_ID") and len(out.splitlines()) == 1, out
    assert run_id in out and "not a sweep trial's run" in out
    after = exptrack.ExperimentTracker("experiments").get_run(run_id)
    assert (after["status"], after["params"], after["finished_at"], after["experiment_name"]) == (
        "completed", {"lr": 0.1}, before["finished_at"], "first")
    assert after["metrics"]["loss"] == before["metrics"]["loss"]


def test_a_run_id_that_names_no_run_is_refused(workdir, finished):
    out = _join(workdir, exptrack_run_id="20260101-000000-abcdef")
    assert out.startswith("refused: EXPTRACK_RUN_ID='20260101-000000-abcdef'"), out
    assert "names no run" in out


TRAIN = textwrap.dedent("""
    import subprocess, sys, exptrack
    params = exptrack.load_params()
    with exptrack.init(params=params) as run:
        # a helper process this trial starts inherits its environment, EXPTRACK_RUN_ID included
        child = subprocess.run([sys.executable, "-c", %r], capture_output=True, text=True)
        open(run.dir / "child.txt", "w").write(child.stdout)
        run.log({"acc": params["x"]}, step=0)
    """) % JOIN

PARAMS = textwrap.dedent("""
    x: 0.0
    sweep:
      name: toy
      method: grid
      metric: {name: acc}
      program: train.py
      command: ["${interpreter}", "${program}"]
      parameters:
        x: {values: [0.1, 0.2]}
    """)


@pytest.mark.slow
def test_a_trials_child_process_and_a_finished_trial_cannot_join_the_trials_run(workdir):
    (workdir / "train.py").write_text(TRAIN)
    (workdir / "params.yaml").write_text(PARAMS)
    run_cli("sweep", "--quiet", check=True)
    runs = exptrack.ExperimentTracker("experiments").list_runs()
    assert sorted((r["status"], r["params"]["x"]) for r in runs) == [
        ("completed", 0.1), ("completed", 0.2)]  # no params of the child's, no third run
    for r in runs:
        child = (workdir / r["run_dir"] / "child.txt").read_text().strip()
        assert child.startswith(f"refused: EXPTRACK_RUN_ID={r['run_id']!r}"), child
        assert "already joined by process pid" in child
    # the environment of a trial that has ended: its run is completed, no longer pending
    done = runs[0]
    out = _join(workdir, exptrack_run_id=done["run_id"], exptrack_sweep_id=done["sweep_id"],
                exptrack_trial_id=done["trial_id"], exptrack_dir=str(workdir / "experiments"))
    assert out.startswith(f"refused: EXPTRACK_RUN_ID={done['run_id']!r}") and "completed" in out
    record = exptrack.ExperimentTracker("experiments").get_run(done["run_id"])
    assert record["params"] == done["params"] and record["finished_at"] == done["finished_at"]
    assert json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["status"] == "completed"
