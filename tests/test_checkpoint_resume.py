"""A trial run again after a kill continues its trial: same trial, same run, from its checkpoint.

Local executor here (the Ray executor's node-loss re-run: tests/test_ray_faults.py).
"""

from __future__ import annotations

import json

from tests.conftest import run_cli

TRAIN = '''
import json, os, signal, exptrack
run = exptrack.init(params={"steps": 6})
last = run.checkpoint_dir / "last.json"
start = json.loads(last.read_text())["step"] + 1 if last.exists() else 0
run.log({"attempt": run.attempt, "resumed_from": run.resumed_from or 0, "start": start})
for step in range(start, run.params["steps"]):
    run.log({"loss": 1.0 / (step + 1)}, step=step)
    last.write_text(json.dumps({"step": step}))
    if step == 2 and run.resumed_from is None:
        os.kill(os.getpid(), signal.SIGKILL)  # the machine lost mid-training
run.finish()
'''

SWEEP = ("program: train.py\nmethod: grid\nmetric: {name: loss, goal: minimize}\n"
         "parameters:\n  steps: {values: [6]}\n")


def test_a_killed_trial_is_run_again_from_its_checkpoint_as_the_same_trial_and_run(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    proc = run_cli("sweep", "--config", "sweep.yaml", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [run] = json.loads(run_cli("runs", "--json", cwd=tmp_path, check=True).stdout)
    assert run["status"] == "completed"
    full = json.loads(run_cli("show", run["run_id"], "--json", cwd=tmp_path, check=True).stdout)
    assert [p["step"] for p in full["metrics"]["loss"]] == [0, 1, 2, 3, 4, 5]  # one curve
    assert [p["value"] for p in full["metrics"]["attempt"]] == [1, 2]
    assert [p["value"] for p in full["metrics"]["resumed_from"]] == [0, 1]
    assert full["summary"]["start"]["last"] == 3
    journal = next((tmp_path / "experiments" / "_sweeps").glob("*/trials.jsonl"))
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert {e["trial_id"] for e in events} == {"t0001"}  # compare and stoppers see one trial
    assert [e["status"] for e in events if e["event"] == "end"] == ["killed", "completed"]


def test_a_first_attempt_has_no_attempt_to_resume_from(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN.replace("step == 2", "step == -1"))
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    assert run_cli("sweep", "--config", "sweep.yaml", "--quiet", cwd=tmp_path).returncode == 0
    [run] = json.loads(run_cli("runs", "--json", cwd=tmp_path, check=True).stdout)
    assert run["attempt"] == 1 and run["resumed_from"] == 0 and run["loss"] == 1 / 6
