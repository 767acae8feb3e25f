"""Sweep commands run as argument lists, never through a shell: parameter values that a shell would
execute reach the trial program literally, and ${args_json_file} temp files are removed."""

from __future__ import annotations

import json
import os

from ..conftest import run_cli
from .helpers import count

NASTY = ["; touch pwned", "$(touch pwned2)", "`touch pwned3`", "| touch pwned4 &&", "' \" \\ \n"]

PROGRAM = """
import json, os, sys, exptrack
params = exptrack.load_params()
json_file = sys.argv[-1]
with open(json_file) as f:
    from_file = json.load(f)
with exptrack.init(params=params) as run:
    with open(os.path.join(run.dir, "argv.json"), "w") as f:
        json.dump({"argv": sys.argv[1:], "json_file": json_file, "from_file": from_file}, f)
    run.log({"ok": 1.0}, step=0)
"""


def test_shell_metacharacters_in_values_arrive_literally_and_nothing_is_executed(workdir):
    (workdir / "show_argv.py").write_text(PROGRAM)
    config = {"name": "inject", "method": "grid", "program": "show_argv.py",
              "command": ["${interpreter}", "${program}", "${args}", "${args_no_equals}",
                          "${args_json_file}"],
              "parameters": {"note": {"values": NASTY}}}
    (workdir / "sweep.yaml").write_text(json.dumps(config))  # JSON is YAML
    run_cli("sweep", "--config", "sweep.yaml", "--quiet", cwd=workdir, check=True)
    count("bad inputs", len(NASTY))
    seen = {}
    for argv_file in (workdir / "experiments" / "inject").glob("*/argv.json"):
        got = json.loads(argv_file.read_text())
        value = got["from_file"]["note"]
        assert got["argv"][:3] == [f"--note={value}", "--note", value]  # one argument each, as is
        assert not os.path.exists(got["json_file"])  # the temp file went with the trial
        seen[value] = got
    assert sorted(seen) == sorted(NASTY)
    planted = {"pwned", "pwned2", "pwned3", "pwned4"}
    for root, dirs, files in os.walk(workdir):  # the trials' working directory, and all below it
        assert not planted & set(files), root
