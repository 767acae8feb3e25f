"""The inline executor (``exptrack.sweep(objective)``) stops a trial the only way an in-process
trial can be stopped: cooperatively, ``run.should_stop()`` turns True and the objective returns."""

from __future__ import annotations

import threading
import time

import exptrack
from exptrack_core.run import get_tracker
from exptrack_core.sweep.launch import TrialLaunch
from exptrack_plugins.executors.inline import InlineExecutor


def _trial(workdir, objective) -> TrialLaunch:
    tracker = get_tracker("experiments")  # the run a sweep creates for its trial
    run_id = tracker.create_run("inline", sweep_id="s1", trial_id="t0001")
    tracker.close(run_id)
    env = {"EXPTRACK_RUN_ID": run_id, "EXPTRACK_SWEEP_ID": "s1", "EXPTRACK_TRIAL_ID": "t0001",
           "EXPTRACK_DIR": str(workdir / "experiments")}
    return TrialLaunch("t0001", run_id, {"lr": 0.1}, env, workdir / "experiments", objective=objective)


def test_terminate_makes_the_running_trials_should_stop_true_and_poll_reports_its_end(workdir):
    steps = []

    def objective(params):
        with exptrack.init() as run:
            for step in range(2000):  # about 20 s, unless stopped
                run.log({"loss": 1 / (step + 1)}, step=step)
                steps.append(step)
                if run.should_stop():
                    return "stopped"
                time.sleep(0.01)
        return "ran to the end"

    executor = InlineExecutor({})
    trial = _trial(workdir, objective)
    worker = threading.Thread(target=executor.launch, args=(trial,))
    worker.start()
    while not steps:
        time.sleep(0.01)
    assert [t.trial_id for t in executor.running()] == ["t0001"]
    executor.terminate("t0001", grace=5.0)  # never blocks
    worker.join(10)
    assert not worker.is_alive()
    (done,) = executor.poll()
    assert (done.trial.trial_id, done.returncode, done.result) == ("t0001", 0, "stopped")
    assert executor.running() == [] and len(steps) < 2000
    run = exptrack.ExperimentTracker("experiments").get_run(trial.run_id)
    assert [p["step"] for p in run["metrics"]["loss"]] == steps  # it keeps what it logged


def test_terminate_of_a_trial_that_is_not_running_does_nothing(workdir):
    executor = InlineExecutor({})
    executor.terminate("t0042")
    executor.launch(_trial(workdir, lambda params: 3.0))
    executor.terminate("t0001")  # it has already ended
    (done,) = executor.poll()
    assert (done.returncode, done.result) == (0, 3.0)
    # a later run of the same process is not stopped by the earlier request
    with exptrack.init(experiment="later") as run:
        assert run.should_stop() is False
