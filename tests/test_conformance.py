"""A tracker and an executor written from ``exptrack.plugin`` alone run a real sweep.

``tests/conformance`` is a third-party package (``exptrack-conformance-demo``) that imports
nothing of exptrack but ``exptrack.plugin``: the ``events`` tracker keeps each run as one file of
JSON events, the ``groups`` executor runs each trial as a process group. The test pip-installs it
from a copy outside the repository into a directory put on the path of every exptrack command
(its entry points are found there as in site-packages), runs a sweep through both, SIGKILLs the
controller mid-sweep and finishes it with ``--resume``, then looks at what a user sees.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from exptrack import plugin

from .conftest import REPO, run_cli, run_python
from .sweep_helpers import PARAMS, make_project

PACKAGE = REPO / "tests" / "conformance"
# early stopping asks for every trial's curve (through the tracker) and never stops one here
SLOW = PARAMS.replace("sleep: 0.0", "sleep: 0.25").replace(
    "  program: train.py\n", "  program: train.py\n"
    "  early_terminate: {type: median, min_steps: 100, min_trials: 100}\n")
GRID = {(lr, wd) for lr in (0.001, 0.01, 0.1) for wd in (0.0, 0.1)}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("conformance")
    source = shutil.copytree(PACKAGE, root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    target = root / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                          "--no-build-isolation", "--no-input", "-q", "--target", str(target),
                          str(source)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    assert not (PACKAGE / "build").exists()  # the build happened in the copy
    return target


@pytest.fixture
def env(site, workdir):
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": path, "EXPTRACK_TRACKER": "events",
            "CONFORMANCE_CALLS": str(workdir / "calls.jsonl")}


def test_the_package_imports_nothing_of_exptrack_but_exptrack_plugin():
    for path in (PACKAGE / "exptrack_conformance_demo").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            assert all(n == "exptrack.plugin" or not n.startswith("exptrack") for n in names), \
                (path.name, names)


def test_exptrack_plugins_lists_the_installed_tracker_executor_and_trial_adapter(env):
    out = run_cli("plugins", "--json", env=env, check=True)
    found = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}["conformance"]
    assert found["distribution"] == "exptrack-conformance-demo"
    assert sorted((p["family"], p["name"]) for p in found["provides"]) == [
        ("executor", "groups"), ("tracker", "events"), ("trial_adapter", "toylog")]


def test_each_object_is_an_instance_of_its_protocol(env, workdir):
    proc = run_python(textwrap.dedent("""
        from pathlib import Path
        from exptrack import plugin
        from exptrack_conformance_demo import adapter, executor, tracker
        print(isinstance(tracker.EventsTracker(Path("experiments")), plugin.Tracker),
              isinstance(executor.GroupExecutor({"workers": 2}), plugin.Executor),
              isinstance(adapter.ToylogAdapter(), plugin.TrialAdapter),
              isinstance(adapter.ToylogFollower(None, "r", Path("x")), plugin.TrialFollower))
        """), workdir, env=env)
    assert proc.stdout.split() == ["True"] * 4, proc.stderr


def _journal(workdir: Path) -> tuple[str | None, list[dict]]:
    files = list((workdir / "experiments" / "_sweeps").glob("*/trials.jsonl"))
    if not files:
        return None, []
    return files[0].parent.name, [json.loads(l) for l in files[0].read_text().splitlines()
                                  if l.endswith("}")]


def _runs(env: dict) -> list[dict]:
    return json.loads(run_cli("runs", "--json", env=env, check=True).stdout)


def _events(workdir: Path) -> dict[str, list[dict]]:
    return {p.parent.name: [json.loads(l) for l in p.read_text().splitlines()]
            for p in (workdir / "experiments").glob("toy/*/events.jsonl")}


@pytest.mark.slow
def test_a_sweep_through_them_survives_a_sigkill_and_resumes_to_every_point_once(workdir, env):
    make_project(workdir, SLOW)
    proc = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--quiet",
                             "--executor", "groups", "--workers", "2"], cwd=workdir,
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:  # kill it with two trials ended and more in flight
        sweep_id, journal = _journal(workdir)
        if sum(e["event"] == "end" for e in journal) >= 2 and \
                journal[-1]["event"] in ("start", "launch"):  # a trial in flight
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    else:
        raise AssertionError(f"the sweep did not get going: {proc.communicate()}")
    proc.kill()
    proc.wait()
    # this executor's trials outlive the controller (as on another machine): let them end
    deadline = time.time() + 30
    while any(r["status"] == "running" for r in _runs(env)) and time.time() < deadline:
        time.sleep(0.2)
    sweeps = json.loads(run_cli("sweeps", "--json", env=env, check=True).stdout)
    assert [(s["sweep_id"], s["status"]) for s in sweeps] == [(sweep_id, "stopped")]
    assert len(_events(workdir)) < len(GRID)  # the resumed sweep has trials left to run

    resumed = run_cli("sweep", "--resume", sweep_id, "--quiet", env=env)
    assert resumed.returncode == 0, resumed.stderr

    sweeps = json.loads(run_cli("sweeps", "--json", env=env, check=True).stdout)
    assert [(s["sweep_id"], s["status"]) for s in sweeps] == [(sweep_id, "completed")]
    runs = _runs(env)
    assert {r["sweep_id"] for r in runs} == {sweep_id}
    completed = [r for r in runs if r["status"] == "completed"]
    assert sorted(round(r["val_acc"], 6) for r in completed) == sorted(  # the last epoch's
        round(1 - abs(lr - 0.01) * 10 - wd + 0.02, 6) for lr, wd in GRID)
    # the tracker's own records: every grid point's run completed once, with its three epochs
    finished = Counter()
    for run_id, events in _events(workdir).items():
        create = events[0]
        point = (create["params"]["train"]["lr"], create["params"]["train"]["wd"])
        statuses = [e["status"] for e in events if e["event"] == "status"]
        if statuses[-1] == "completed":
            finished[point] += 1
            assert [e["step"] for e in events if e["event"] == "metrics"] == [0, 1, 2], run_id
    assert finished == Counter(dict.fromkeys(GRID, 1))
    _assert_calls_match_the_protocols(workdir / "calls.jsonl")


def _assert_calls_match_the_protocols(log: Path) -> None:
    """Each call the core made binds to the Protocol's declared signature."""
    protocols = {"tracker": plugin.Tracker, "executor": plugin.Executor}
    calls = {(c["object"], c["method"], c["args"], tuple(c["kwargs"]))
             for c in map(json.loads, log.read_text().splitlines())}
    assert {m for o, m, _, _ in calls if o == "executor"} >= {"launch", "poll", "running"}
    assert {m for o, m, _, _ in calls if o == "tracker"} >= {
        "create_run", "set_status", "log_metrics", "read_run", "list_runs", "get_run"}
    for obj, method, nargs, kwargs in sorted(calls):
        declared = getattr(protocols[obj], method, None)
        assert declared is not None, f"the core calls {obj}.{method}, which the Protocol lacks"
        inspect.signature(declared).bind(None, *range(nargs), **dict.fromkeys(kwargs))


TOY_SCRIPT = '''
from exptrack_conformance_demo import toylog  # another library; no exptrack here

p = toylog.params()
for step in range(3):
    toylog.log(step, loss=(p["x"] - 0.3) ** 2 + 1 / (step + 1))
'''

TOY_SWEEP = '''
name: toy
method: grid
metric: {name: loss, goal: minimize}
program: toy.py
parameters:
  x: {values: [0.1, 0.3, 0.5]}
'''


@pytest.mark.slow
def test_an_unchanged_script_of_another_library_is_a_trial_through_its_trial_adapter(workdir, env):
    (workdir / "toy.py").write_text(TOY_SCRIPT)
    (workdir / "sweep.yaml").write_text(TOY_SWEEP)
    local = {k: v for k, v in env.items() if k != "EXPTRACK_TRACKER"}  # the built-in tracker
    out = run_cli("sweep", "--config", "sweep.yaml", env=local)
    assert out.returncode == 0, out.stderr
    assert "best params:\n  x: 0.3\n" in out.stdout
    runs = json.loads(run_cli("runs", "--json", env=local, check=True).stdout)
    assert sorted((r["status"], round(r["loss"], 6)) for r in runs) == sorted(
        ("completed", round((x - 0.3) ** 2 + 1 / 3, 6)) for x in (0.1, 0.3, 0.5))
    shown = json.loads(run_cli("show", runs[0]["run_id"], "--json", env=local, check=True).stdout)
    assert [p["step"] for p in shown["metrics"]["loss"]] == [0, 1, 2]  # followed as it grew


@pytest.mark.slow
def test_a_tracker_named_in_backend_records_the_sweep_and_its_trials(workdir, env):
    make_project(workdir, PARAMS.replace("[0.001, 0.01, 0.1]", "[0.01]"))
    one_sweep = {k: v for k, v in env.items() if k != "EXPTRACK_TRACKER"}
    out = run_cli("sweep", "--quiet", "--backend", "events", env=one_sweep)
    assert out.returncode == 0, out.stderr
    assert sorted((r["status"], r["val_acc"]) for r in _runs(env)) == [
        ("completed", pytest.approx(0.92)), ("completed", pytest.approx(1.02))]
    assert not list((workdir / "experiments").glob("toy/*/meta.json"))  # nothing went to local
