"""--resume names only a sweep of the experiments directory; damaged sweep records give one line
naming the file, and `exptrack sweeps` still lists the others; resume keeps stored settings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from .conftest import assert_one_line_error, run_cli
from .sweep_helpers import PARAMS, make_project

SMALL = PARAMS.replace("train.lr: {values: [0.001, 0.01, 0.1]}", "train.lr: {values: [0.01]}").replace(
    "train.wd: {values: [0.0, 0.1]}", "train.wd: {value: 0.0}")


def _one_sweep(workdir):
    make_project(workdir, SMALL)
    run_cli("sweep", "--quiet", check=True)
    (sweep_dir,) = (workdir / "experiments" / "_sweeps").iterdir()
    return sweep_dir


@pytest.mark.parametrize("given", ["../../elsewhere", "a/b", "..", "../_sweeps/x"])
def test_resume_refuses_a_path_and_runs_nothing_from_it(workdir, given):
    sweep_dir = _one_sweep(workdir)
    elsewhere = workdir / "elsewhere"  # where experiments/_sweeps/../../elsewhere points
    shutil.copytree(sweep_dir, elsewhere, dirs_exist_ok=True)  # a sweep.json that must not be run
    proc = run_cli("sweep", "--resume", given)
    shutil.rmtree(elsewhere)
    assert_one_line_error(proc, repr(given), sweep_dir.name)


def _damage(sweep_dir, what):
    journal = sweep_dir / "trials.jsonl"
    if what == "sweep.json":
        (sweep_dir / "sweep.json").write_text("{not json")
    elif what == "number line":
        journal.write_text(journal.read_text() + "5\n")
    elif what == "start without run_id":
        journal.write_text(journal.read_text() + json.dumps({"event": "start", "trial_id": "t9"}) + "\n")
    else:
        journal.unlink()
    return "sweep.json" if what == "sweep.json" else "trials.jsonl"


DAMAGES = ["sweep.json", "number line", "start without run_id", "missing journal"]


@pytest.mark.parametrize("what", DAMAGES)
def test_resuming_a_damaged_sweep_is_one_line_naming_the_file(workdir, what):
    sweep_dir = _one_sweep(workdir)
    name = _damage(sweep_dir, what)
    assert_one_line_error(run_cli("sweep", "--resume", sweep_dir.name), f"experiments/_sweeps/{sweep_dir.name}/{name}")


@pytest.mark.parametrize("what", DAMAGES)
def test_sweeps_lists_the_healthy_ones_and_names_the_broken_one(workdir, what):
    broken = _one_sweep(workdir)
    run_cli("sweep", "--quiet", check=True)
    healthy = [d.name for d in broken.parent.iterdir() if d != broken]
    name = _damage(broken, what)
    proc = run_cli("sweeps", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["sweep_id"] for r in json.loads(proc.stdout)] == healthy
    assert f"experiments/_sweeps/{broken.name}/{name}" in proc.stderr and "Traceback" not in proc.stderr


def test_a_four_worker_sweep_resumes_with_four_workers(workdir):
    make_project(workdir, PARAMS.replace("sleep: 0.0", "sleep: 1.0").replace("epochs: 3", "epochs: 2")
                 .replace("[0.001, 0.01, 0.1]", "[0.001, 0.01]"))
    controller = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet",
                                   "--workers", "4"], cwd=workdir, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and len(_events(workdir, "start")) < 4:
        time.sleep(0.05)
    controller.kill()
    controller.communicate()
    sweep_id = json.loads(run_cli("sweeps", "--json", check=True).stdout)[0]["sweep_id"]
    before = len(_events(workdir))
    run_cli("sweep", "--resume", sweep_id, "--quiet", check=True)
    resumed = _events(workdir)[before:]
    kinds = [e["event"] for e in resumed if e["event"] != "launch"
             and not (e["event"] == "end" and e["status"] in ("killed", "crashed"))]  # recovery's
    assert kinds[:4] == ["start"] * 4, kinds  # all four in flight at once, as configured


def _events(workdir, kind=None):
    journals = list((workdir / "experiments" / "_sweeps").glob("*/trials.jsonl"))
    if not journals:
        return []
    events = [json.loads(l) for l in journals[0].read_text().splitlines() if l.endswith("}")]
    return [e for e in events if kind is None or e["event"] == kind]


@pytest.mark.parametrize("seed", ["-1", str(2 ** 64)])
def test_a_bad_seed_is_refused_before_a_sweep_record_exists(workdir, seed):
    make_project(workdir, SMALL.replace("method: grid", "method: random\n  run_cap: 1"))
    assert_one_line_error(run_cli("sweep", "--quiet", f"--seed={seed}"), "--seed", seed)
    assert not (workdir / "experiments").exists()
