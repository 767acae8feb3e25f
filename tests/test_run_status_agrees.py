"""A trial's run says what the trial's state says, whichever way it ended: `exptrack runs` and
`exptrack sweeps` agree, and a trial its executor lost (a node or worker gone, no exit status
seen) ends crashed, is re-run within --max-retries and counts toward --max-failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import exptrack
from exptrack_core.sweep import lifecycle
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.journal import SweepStore
from exptrack_plugins.executors.process import ProcessExecutor

from .conftest import run_cli

# how each grid point ends: by itself (completed, failed, pruned), past its time limit
# (timed_out), or by a signal (killed)
ENDINGS = '''
import os, signal, sys, time, exptrack
params = exptrack.load_params()
mode = params["mode"]
if mode == "fail":
    sys.exit(3)
with exptrack.init(params=params) as run:
    run.log({"acc": 0.5}, step=0)
    if mode == "slow":
        time.sleep(60)
    if mode == "prune":
        run.finish("pruned")
    if mode.startswith("selfkill"):
        os.kill(os.getpid(), signal.SIGKILL)
'''

SWEEP = '''
mode: ok
sweep:
  name: endings
  method: grid
  metric: {name: acc, goal: maximize}
  program: train.py
  command: ["${interpreter}", "${program}"]
  parameters:
    mode: {values: [%s]}
'''


def agreeing_views(root: Path) -> Counter:
    """The sweep's trial counts from `exptrack sweeps`, after checking that each trial's final
    state (its journal) is its run's status in `exptrack runs`."""
    [row] = json.loads(run_cli("sweeps", "--json", cwd=root, check=True).stdout)
    runs = {r["run_id"]: r["status"] for r in json.loads(
        run_cli("runs", "--sweep", row["sweep_id"], "--json", cwd=root, check=True).stdout)}
    trials = SweepStore(root / "experiments", row["sweep_id"]).trials()
    assert {t.run_id: t.status for t in trials.values()} == runs
    assert Counter(runs.values()) == Counter(row["trials"])
    return Counter(row["trials"])


def test_runs_and_sweeps_agree_after_a_sweep_with_every_kind_of_ending(workdir):
    (workdir / "train.py").write_text(ENDINGS)
    (workdir / "params.yaml").write_text(SWEEP % "ok, fail, slow, prune, selfkill")
    proc = subprocess.run([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet",
                           "--trial-timeout", "3"], cwd=workdir, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    # selfkill: killed, re-run once as a new trial (nothing saved to continue), failed then
    assert agreeing_views(workdir) == {"completed": 1, "failed": 2, "timed_out": 1, "pruned": 1,
                                       "killed": 1}


def test_runs_and_sweeps_agree_after_ctrl_c_and_after_the_resume(workdir):
    (workdir / "train.py").write_text(ENDINGS)
    (workdir / "params.yaml").write_text(SWEEP % "ok, slow")
    controller = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet",
                                   "--trial-timeout", "30"], cwd=workdir,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(
            r["params"]["mode"] == "slow" and r["status"] == "running" and r["summary"]
            for r in exptrack.ExperimentTracker().list_runs()):
        time.sleep(0.2)
    controller.send_signal(signal.SIGINT)  # Ctrl+C while the slow trial runs
    assert controller.wait(30) == 130
    assert agreeing_views(workdir) == {"completed": 1, "killed": 1}
    sweep_id = json.loads(run_cli("sweeps", "--json", cwd=workdir, check=True).stdout)[0]["sweep_id"]
    run_cli("sweep", "--resume", sweep_id, "--quiet", "--trial-timeout", "2", cwd=workdir, check=True)
    # the stopped point ran again as a new trial, stopped by its time limit this time
    assert agreeing_views(workdir) == {"completed": 1, "killed": 1, "timed_out": 1}


class LosesItsWorkers(ProcessExecutor):
    """The process executor on workers that vanish: a trial SIGKILLed from outside its program
    (as a lost machine's are) comes back with no exit status, reported ``lost`` as the Ray
    executor reports a lost node."""

    def poll(self):
        ended = super().poll()
        for done in ended:
            if done.returncode == -signal.SIGKILL:
                done.lost = "crashed: the worker running it was lost"
        return ended


def _sweep_losing_workers(root: Path, values: str, **settings):
    (root / "train.py").write_text(ENDINGS)
    config = SweepConfig.parse({"name": "endings", "method": "grid", "program": "train.py",
                                "command": ["${interpreter}", "${program}"],
                                "metric": {"name": "acc", "goal": "maximize"},
                                "parameters": {"mode": {"values": values.split(", ")}}})
    store = lifecycle.start(config, dir=root / "experiments")
    executor = LosesItsWorkers({"workers": 1, "cwd": os.fspath(root)})
    return lifecycle.execute(store, config, executor=executor, progress=False, cwd=root, **settings)


def test_a_trial_whose_worker_is_lost_ends_crashed_and_is_rerun_once(workdir):
    outcome = _sweep_losing_workers(workdir, "selfkill", max_retries=1)
    assert [(t.status, t.attempt) for t in outcome.trials] == [("crashed", 1), ("failed", 2)]
    assert "crashed" in outcome.trials[1].note and "--max-retries 1" in outcome.trials[1].note
    assert agreeing_views(workdir) == {"crashed": 1, "failed": 1}
    listed = run_cli("sweeps", cwd=workdir, check=True).stdout
    assert "crashed:1" in listed


def test_crashed_trials_count_toward_max_failures(workdir):
    outcome = _sweep_losing_workers(workdir, "selfkill, selfkill-again, ok", max_retries=0, max_failures=2)
    assert outcome.status == "failed" and "--max-failures 2" in outcome.message
    assert [t.status for t in outcome.trials] == ["failed", "failed"]  # no re-run, no third trial
