"""A worker node killed mid-trial, on a real loopback cluster (its own: the test kills a node)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.ray_cluster import RayCluster, cannot_run
from tests.test_ray_executor import TRAIN, runs, show, start_sweep, sweep_yaml

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(cannot_run()), reason=cannot_run() or "")]


@pytest.fixture
def cluster():
    c = RayCluster()
    yield c
    c.stop()
    assert not c.all_pids()


def test_a_worker_node_killed_mid_trial_crashes_it_and_the_sweep_reruns_it_on_the_other(
        cluster, tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sweep.yaml").write_text(sweep_yaml([0.5], steps=10, sleep=0.5))
    sweep = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--config",
                              "sweep.yaml", "--executor", "ray", "--ray-address", cluster.address,
                              "--resources", '{"worker": 1}', "--quiet"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = None
    deadline = time.time() + 120
    while time.time() < deadline and first is None:
        for r in runs(tmp_path) if (tmp_path / "experiments").exists() else []:
            if r.get("pid") and r.get("loss") is not None and r.get("loss") <= 0.5 * 8:
                first = r  # it has logged three steps
        time.sleep(0.2)
    assert first is not None, "the trial never got going"
    node = cluster.node_of(int(first["pid"]))
    assert node in ("node_a", "node_b")
    cluster.nodes[node].kill()  # the whole node: raylet, workers, the trial's actor
    out, err = sweep.communicate(timeout=180)
    assert sweep.returncode == 0, err

    journal = (tmp_path / "experiments" / "_sweeps").glob("*/trials.jsonl")
    events = [json.loads(line) for line in next(journal).read_text().splitlines()]
    ends = [e for e in events if e["event"] == "end"]
    assert [e["status"] for e in ends] == ["crashed", "completed"]  # no exit status came back
    assert "crashed: the Ray node running it was lost" in ends[0]["note"]
    assert {e["trial_id"] for e in events} == {"t0001"}
    # the re-run continued the same trial and run, on the other node, from its checkpoint
    [again] = runs(tmp_path)
    assert again["run_id"] == first["run_id"] and again["status"] == "completed"
    full = show(tmp_path, again["run_id"])
    assert full["summary"]["attempt"]["last"] == 2 and full["summary"]["start"]["last"] >= 3
    assert [p["step"] for p in full["metrics"]["loss"]] == list(range(10))  # one curve
    other = "node_b" if node == "node_a" else "node_a"
    assert full["context"]["ray"]["node_id"] == cluster.node_ids()[other]
    sweeps = json.loads(run_cli("sweeps", "--json", cwd=tmp_path, check=True).stdout)
    assert sweeps[0]["status"] == "completed"


def test_a_sigkilled_controller_resumed_reruns_its_remote_trials_once_and_leaves_none_behind(
        cluster, tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sweep.yaml").write_text(sweep_yaml([0.1, 0.2], steps=16, sleep=0.5))
    sweep = start_sweep(tmp_path, cluster.address)
    started: list[dict] = []
    deadline = time.time() + 120
    while time.time() < deadline and len(started) < 2:
        started = [r for r in (runs(tmp_path) if (tmp_path / "experiments").exists() else [])
                   if r.get("pid") and r.get("loss") is not None]
        time.sleep(0.2)
    assert len(started) == 2, "both trials should be logging"
    time.sleep(1.5)  # each has saved a checkpoint
    old_pids = [int(r["pid"]) for r in started]
    assert {cluster.node_of(pid) for pid in old_pids} == {"node_a", "node_b"}
    sweep.kill()  # SIGKILL: no cleanup of its own
    sweep.communicate(timeout=30)
    [sweep_dir] = (tmp_path / "experiments" / "_sweeps").iterdir()

    resumed = run_cli("sweep", "--resume", sweep_dir.name, "--executor", "ray", "--ray-address",
                      cluster.address, "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    for pid in old_pids:
        assert not Path(f"/proc/{pid}").exists(), f"trial process {pid} of the killed attempt runs on"
    done = runs(tmp_path)
    assert sorted(r["run_id"] for r in done) == sorted(r["run_id"] for r in started)
    assert [r["status"] for r in done] == ["completed", "completed"]  # one per suggestion
    for r in done:
        full = show(tmp_path, r["run_id"])
        assert full["summary"]["attempt"]["last"] == 2 and full["summary"]["start"]["last"] >= 1
        assert [p["step"] for p in full["metrics"]["loss"]] == list(range(16))  # one curve
    [row] = json.loads(run_cli("sweeps", "--json", cwd=tmp_path, check=True).stdout)
    assert row["status"] == "completed" and row["trials"] == {"completed": 2}
