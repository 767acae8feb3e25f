"""The README's commands that say where things land are true: the TensorBoard log directories it
names are where the train stage and the default sweep write, as TensorBoard itself finds runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from exptrack_core.sweep.lifecycle import config_from_params, experiment_name
from exptrack_plugins.tensorboard.backend import ROOT_NAME

from .conftest import REPO, run_cli
from .test_pipeline import make_project, ok, stage

LOGDIR = re.compile(r"^ +tensorboard --logdir (\S+) +# (.+)$", re.M)


def readme_logdirs() -> dict[str, str]:
    """{what the README says is there: the log directory it names}."""
    return {comment: path for path, comment in LOGDIR.findall((REPO / "README.md").read_text())}


def test_the_readmes_tensorboard_dirs_name_the_train_stage_and_default_sweep_experiments():
    dirs = readme_logdirs()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    sweep = experiment_name(config_from_params(REPO / "params.yaml").name)
    assert dirs["the train stage's runs"] == f"experiments/{ROOT_NAME}/{params['train']['experiment']}"
    assert dirs["the default sweep's trials"] == f"experiments/{ROOT_NAME}/{sweep}"
    assert dirs["everything"] == f"experiments/{ROOT_NAME}"


def tensorboard_runs(logdir) -> set[str]:
    """The runs `tensorboard --logdir DIR` shows, found by TensorBoard's own code."""
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    mux = EventMultiplexer().AddRunsFromDirectory(str(logdir))
    mux.Reload()
    return {run for run, tags in mux.Runs().items()  # runs holding the val_acc curve
            if "val_acc" in tags.get("scalars", []) + tags.get("tensors", [])}


@pytest.mark.slow
def test_the_readmes_tensorboard_commands_show_the_runs_they_say(tmp_path):
    project = make_project(tmp_path / "project")
    ok(stage("prepare", project))
    # the README's commands, with one trial of one epoch
    env = {**os.environ, "EXPTRACK_BACKENDS": "local,tensorboard"}
    ok(subprocess.run([sys.executable, "stages/train.py"], cwd=project, env=env,
                      capture_output=True, text=True, timeout=600))
    proc = run_cli("sweep", "--backend", "local,tensorboard", "--trials", "1", "-S", "train.epochs=1",
                   "--quiet", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = {}
    for experiment in ("digits", "digits-sweep"):
        out = run_cli("runs", experiment, "--json", cwd=project, check=True).stdout
        runs[experiment] = {r["run_id"] for r in yaml.safe_load(out)}
    assert all(len(ids) == 1 for ids in runs.values()), runs
    dirs = readme_logdirs()
    assert tensorboard_runs(project / dirs["the train stage's runs"]) == runs["digits"]
    assert tensorboard_runs(project / dirs["the default sweep's trials"]) == runs["digits-sweep"]
    assert tensorboard_runs(project / dirs["everything"]) == {
        f"{e}/{r}" for e, ids in runs.items() for r in ids}
