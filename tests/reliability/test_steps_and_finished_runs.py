"""A step is an integer from 0 to 2**63 - 1 wherever metrics are logged (``run.log`` and
``ExperimentTracker.log_metrics`` alike); a finished run takes nothing more; logging the project
directory as an artifact does not copy the experiments directory into itself."""

from __future__ import annotations

import json

import pytest

import exptrack
from exptrack_core.errors import ExptrackError

from .helpers import count

BAD_STEPS = [2.9, "7", -1, float("nan"), 2**63, True]


@pytest.mark.parametrize("step", BAD_STEPS, ids=repr)
def test_a_bad_step_is_refused_in_one_line_by_both_apis(workdir, step):
    tracker = exptrack.ExperimentTracker()
    run_id = tracker.create_run("e")
    with exptrack.init(experiment="e") as run:
        for log in (lambda: tracker.log_metrics(run_id, {"loss": 0.5}, step=step),
                    lambda: run.log({"loss": 0.5}, step=step)):
            with pytest.raises(ExptrackError, match=r"step must be an integer from 0 to 2\*\*63 - 1"):
                log()
            count("bad inputs")
        run.log({"loss": 0.5}, step=2**63 - 1)  # the largest step the backends store
    assert tracker.get_run(run_id)["metrics"] == {}


def test_a_finished_run_refuses_params_and_artifacts_as_it_refuses_metrics(workdir):
    (workdir / "model.pt").write_text("weights")
    with exptrack.init(experiment="e", params={"lr": 0.1}) as run:
        pass
    for late in (lambda: run.log({"x": 1.0}), lambda: run.log_params({"lr": 0.2}),
                 lambda: run.log_artifact(workdir / "model.pt")):
        with pytest.raises(ExptrackError, match="already completed"):
            late()
        count("bad inputs")
    assert json.loads((run.dir / "params.json").read_text()) == {"lr": 0.1}
    assert list((run.dir / "artifacts").iterdir()) == []


def test_logging_the_project_directory_leaves_the_experiments_out(workdir):
    (workdir / "train.py").write_text("print('hi')\n")
    with exptrack.init(experiment="e") as run:
        dest = run.log_artifact(".", name="project")
    count("faults")
    assert (dest / "train.py").read_text() == "print('hi')\n"
    assert not (dest / "experiments").exists()
