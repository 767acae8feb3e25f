"""No secret reaches a record, a backend or a log: environment variables named like secrets, and
values of command-line flags named like secrets, of the sweep controller and of its trials."""

from __future__ import annotations

import subprocess
import sys

import pytest

import exptrack

from ..sweep_helpers import PARAMS, make_project
from .helpers import env_with, install_plugin

SPY = '''
import json
from exptrack import hookimpl


class SpyBackend:
    """A third-party sink that writes down everything it is handed."""

    def __init__(self, run, options):
        self.path = run.run_dir / "spy.log"
        self._write("start", {k: str(v) for k, v in vars(run).items()}, options)

    def _write(self, *what):
        with open(self.path, "a") as f:
            f.write(json.dumps(what, default=str) + "\\n")

    def log_params(self, params):
        self._write("params", params)

    def log_metrics(self, metrics, step, timestamp):
        self._write("metrics", metrics, step)

    def log_artifact(self, path, name):
        self._write("artifact", str(path), name)

    def finish(self, status):
        self._write("finish", status)


@hookimpl
def register_backends(register):
    register("spy", SpyBackend)
'''

# A user's launcher: its own flags (one of them a secret), then the exptrack CLI in-process.
LAUNCHER = """
import sys
from exptrack_core.cli.commands import main
sys.exit(main(["sweep", "--quiet", "--backend", "local,spy,console", "--trials", "2"]))
"""

SECRET_ENV = {"EXPTRACK_API_KEY": "SENSITIVE-env-1", "EXPTRACK_DB_PASSWORD": "SENSITIVE-env-2",
              "CUDA_SECRET": "SENSITIVE-env-3", "WANDB_API_KEY": "SENSITIVE-env-4",
              "HF_TOKEN": "SENSITIVE-env-5", "MY_TOKEN": "SENSITIVE-env-6"}


def _leaks(root) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and b"SENSITIVE" in p.read_bytes()]


def test_no_secret_of_the_controller_or_its_trials_reaches_any_file(workdir, tmp_path):
    site = install_plugin(tmp_path / "site", "exptrack-spy", "exptrack_spy", SPY, {"spy": "exptrack_spy"})
    # the trial program gets a secret flag too, from the environment, as W&B sweep commands do
    make_project(workdir, PARAMS.replace(
        'command: ["${interpreter}", "${program}"]',
        'command: ["${interpreter}", "${program}", "--token=${envvar:MY_TOKEN}", "--password",'
        ' "${envvar:EXPTRACK_DB_PASSWORD}", "${args}"]'))
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, "--api-key=SENSITIVE-argv-1",
                           "--wandb-token", "SENSITIVE-argv-2", "db_password=SENSITIVE-argv-3"],
                          cwd=workdir, env=env_with(site, **SECRET_ENV), capture_output=True,
                          text=True, timeout=120)
    # secrets planted: 6 in the environment, 5 on command lines
    assert proc.returncode == 0, proc.stderr
    assert "SENSITIVE" not in proc.stdout + proc.stderr
    runs = exptrack.ExperimentTracker().list_runs("toy")
    assert len(runs) == 2 and all(r["status"] == "completed" for r in runs)
    assert (workdir / "experiments" / "toy" / runs[0]["run_id"] / "spy.log").read_text()
    sweep_json = next((workdir / "experiments" / "_sweeps").glob("*/sweep.json")).read_text()
    assert "--api-key=***" in sweep_json and "--wandb-token" in sweep_json
    assert _leaks(workdir) == []


@pytest.mark.slow
def test_no_secret_on_the_command_line_reaches_the_wandb_backend(workdir):
    code = ("import exptrack\nwith exptrack.init(experiment='e', backends='local,wandb') as run:\n"
            "    run.log({'x': 1.0}, step=0)\n")
    proc = subprocess.run([sys.executable, "-c", code, "--api-key=SENSITIVE-argv-1", "--password",
                           "SENSITIVE-argv-2"], cwd=workdir, capture_output=True, text=True,
                          env=env_with(None, WANDB_MODE="offline", **SECRET_ENV), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert list(workdir.rglob("*.wandb"))  # W&B really wrote its record
    assert _leaks(workdir) == []
