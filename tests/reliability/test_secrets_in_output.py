"""Nothing secret that a trial prints reaches a file or the console: its stderr (an argparse error
echoing ``--api_key=...``, ``-p``, ``--auth=``, ``--passwd=``, a secret-named param's value) is
redacted in stderr.log, the run's note, the journal and the sweep's output; a ``-S api_key=...``
is redacted in the context's copy of EXPTRACK_PARAMS."""

from __future__ import annotations

import json

import exptrack
from exptrack_core.secrets import redact_argv, redact_text

from ..conftest import run_cli
from ..sweep_helpers import PARAMS
from .helpers import count, env_with

TRAIN = '''
import argparse, exptrack, sys
params = exptrack.load_params()
if params["train"]["lr"] > 0.05:  # echoes its command line and a secret param, as programs do
    print(f"connecting with {params['api_key']}", file=sys.stderr)
    argparse.ArgumentParser().parse_args()
with exptrack.init(params=params) as run:
    run.log({"val_acc": params["train"]["lr"]}, step=0)
'''

COMMAND = ('command: ["${interpreter}", "${program}", "--api_key=${envvar:MY_API_KEY}", '
           '"--auth=SENSITIVE-flag-1", "--passwd=SENSITIVE-flag-2", "-p", "SENSITIVE-flag-3"]')


def test_a_failing_trials_stderr_is_redacted_everywhere_it_is_kept(workdir):
    (workdir / "train.py").write_text(TRAIN)
    params = PARAMS.replace('command: ["${interpreter}", "${program}"]', COMMAND)
    (workdir / "params.yaml").write_text(params.replace(
        "train.wd: {values: [0.0, 0.1]}", "train.wd: {values: [0.0]}"))
    proc = run_cli("sweep", "--yes", "-S", "+api_key=SENSITIVE-set-1", cwd=workdir,
                   env=env_with(None, MY_API_KEY="SENSITIVE-env-1"))
    count("faults", 5)  # five secrets echoed by a failing trial
    assert "SENSITIVE" not in proc.stdout + proc.stderr
    runs = exptrack.ExperimentTracker().list_runs("toy")
    failed = [r for r in runs if r["status"] == "failed"]
    assert len(runs) == 3 and len(failed) == 1
    run_dir = workdir / "experiments" / "toy" / failed[0]["run_id"]
    log = (run_dir / "stderr.log").read_text()
    assert "unrecognized arguments: --api_key=*** --auth=*** --passwd=*** -p ***" in log
    assert "connecting with ***" in log
    assert "SENSITIVE" not in json.loads((run_dir / "meta.json").read_text())["note"]
    journal = next((workdir / "experiments" / "_sweeps").glob("*/trials.jsonl")).read_text()
    ends = [json.loads(l) for l in journal.splitlines() if '"end"' in l]
    assert ends and all("SENSITIVE" not in str(e.get("note")) for e in ends)
    contexts = [json.loads((workdir / "experiments" / "toy" / r["run_id"] / "context.json")
                           .read_text()) for r in runs if r["status"] == "completed"]
    assert len(contexts) == 2 and "SENSITIVE" not in json.dumps(contexts)
    assert all(json.loads(c["env"]["EXPTRACK_PARAMS"])["api_key"] == "***" for c in contexts)


def test_short_and_auth_flags_are_redacted_in_recorded_commands():
    assert redact_argv(["train.py", "-p", "hunter2", "--auth=abc", "--passwd=xyz", "--lr", "1"]) == \
        ["train.py", "-p", "***", "--auth=***", "--passwd=***", "--lr", "1"]
    assert redact_text("KeyError: 'lr' by author=Bob", {}) == "KeyError: 'lr' by author=Bob"
    count("bad inputs", 3)
