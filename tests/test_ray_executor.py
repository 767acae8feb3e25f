"""``--executor ray`` on a real three-node loopback cluster whose workers cannot see our files.

The worker nodes run as another Unix user that can neither read nor write the experiments
directory (it lives in pytest's root-only tmp dir): every value, artifact and status the
controller shows came back through Ray.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli
from tests.ray_cluster import WORKER_USER, RayCluster, cannot_run

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(cannot_run()), reason=cannot_run() or "")]

TRAIN = '''
import json, os, time
import exptrack

run = exptrack.init(params={"lr": 0.1, "steps": 4, "sleep": 0.2})
p = run.params
last = run.checkpoint_dir / "last.json"  # a re-run attempt goes on from here
start = json.loads(last.read_text())["step"] + 1 if last.exists() else 0
run.log({"pid": os.getpid(), "attempt": run.attempt, "start": start})
for step in range(start, p["steps"]):
    run.log({"loss": p["lr"] * (10 - step)}, step=step)
    last.write_text(json.dumps({"step": step}))
    if run.should_stop():
        break
    time.sleep(p["sleep"])
os.makedirs("out", exist_ok=True)
with open("out/model.txt", "w") as f:
    f.write(f"lr={p['lr']} trained on a node\\n")
run.log_artifact("out/model.txt")
print("trained", p["lr"])
run.finish()
'''


def start_sweep(cwd: Path, address: str) -> subprocess.Popen:
    """``exptrack sweep --executor ray`` on ``sweep.yaml`` in ``cwd``, left running."""
    return subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--config",
                             "sweep.yaml", "--executor", "ray", "--ray-address", address,
                             "--quiet"], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def sweep_yaml(values, steps=4, sleep=0.2, extra=""):
    return (f"program: train.py\nmethod: grid\nmetric: {{name: loss, goal: minimize}}\n"
            f"parameters:\n  lr: {{values: {json.dumps(values)}}}\n  steps: {{value: {steps}}}\n"
            f"  sleep: {{value: {sleep}}}\n{extra}")


@pytest.fixture(scope="module")
def cluster():
    c = RayCluster()
    yield c
    c.stop()
    assert not c.all_pids()


@pytest.fixture
def project(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def runs(project) -> list[dict]:
    out = run_cli("runs", "--json", cwd=project, check=True).stdout
    return json.loads(out)


def show(project, run_id) -> dict:
    return json.loads(run_cli("show", run_id, "--json", cwd=project, check=True).stdout)


def ray_sweep(project, cluster, *extra, values=(0.1, 0.2, 0.3, 0.4), wait="30", **kw):
    (project / "sweep.yaml").write_text(sweep_yaml(list(values), **kw))
    return run_cli("sweep", "--config", "sweep.yaml", "--executor", "ray", "--ray-address",
                   cluster.address, "--quiet", *extra, cwd=project,
                   env={"EXPTRACK_RAY_WAIT_S": wait})


def test_the_worker_nodes_cannot_read_or_write_the_experiments_directory(cluster, project):
    (project / "experiments").mkdir()
    probe = subprocess.run(["runuser", "-u", WORKER_USER, "--", "sh", "-c",
                            f"ls {project}/experiments || touch {project}/experiments/x"],
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "Permission denied" in probe.stderr


def test_a_grid_sweep_runs_on_both_workers_and_everything_it_wrote_comes_back(cluster, project):
    proc = ray_sweep(project, cluster)
    assert proc.returncode == 0, proc.stderr
    done = runs(project)
    assert sorted(r["loss"] for r in done) == pytest.approx([0.7, 1.4, 2.1, 2.8])
    assert {r["status"] for r in done} == {"completed"}
    nodes = set()
    for r in done:
        full = show(project, r["run_id"])
        assert [p["value"] for p in full["metrics"]["loss"]] == pytest.approx(
            [full["params"]["lr"] * (10 - s) for s in range(4)])
        ray_ctx = full["context"]["ray"]
        assert ray_ctx["host"] and ray_ctx["node_id"]
        nodes.add(ray_ctx["node_id"])
        run_dir = project / full["run_dir"]
        assert (run_dir / "artifacts" / "model.txt").read_text() == \
            f"lr={full['params']['lr']} trained on a node\n"
        assert f"trained {full['params']['lr']}" in (run_dir / "stdout.log").read_text()
    ids = cluster.node_ids()
    assert nodes == {ids["node_a"], ids["node_b"]}  # both workers ran trials (the head has no CPU)


def test_a_value_logged_mid_trial_reaches_the_controller_before_the_trial_ends(cluster, project):
    (project / "sweep.yaml").write_text(sweep_yaml([0.5], steps=8, sleep=1.0))
    sweep = start_sweep(project, cluster.address)
    seen = None
    try:
        deadline = time.time() + 120
        while time.time() < deadline and seen is None:
            for path in (project / "experiments").glob("sweep/*/metrics.csv"):
                rows = [l.split(",") for l in path.read_text().splitlines()[1:]]
                losses = [r for r in rows if r[1] == "loss"]
                if losses:
                    seen = (time.time(), float(losses[0][3]), path.parent)
            time.sleep(0.1)
        assert seen is not None, "no value arrived"
        arrived, logged, run_dir = seen
        assert arrived - logged < 3.0  # the value came while the trial ran, within seconds
        assert json.loads((run_dir / "meta.json").read_text())["status"] == "running"
        assert sweep.poll() is None  # the trial was still going
    finally:
        out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 0, err


def test_the_sweeps_stopper_stops_a_remote_trial_through_should_stop(cluster, project):
    stopper = "early_terminate: {type: median, min_steps: 1, min_trials: 1}\n"
    proc = ray_sweep(project, cluster, "--workers", "1", values=(0.1, 5.0), steps=12,
                     sleep=0.3, extra=stopper)
    assert proc.returncode == 0, proc.stderr
    by_lr = {show(project, r["run_id"])["params"]["lr"]: r for r in runs(project)}
    assert by_lr[0.1]["status"] == "completed"
    bad = show(project, by_lr[5.0]["run_id"])
    assert bad["status"] == "pruned"
    assert 2 <= len(bad["metrics"]["loss"]) < 12  # it stopped early, on its node


def test_sigterm_of_the_controller_stops_every_remote_trial(cluster, project):
    (project / "sweep.yaml").write_text(sweep_yaml([0.1, 0.2], steps=100, sleep=0.5))
    sweep = start_sweep(project, cluster.address)
    pids: list[int] = []
    deadline = time.time() + 120
    while time.time() < deadline and len(pids) < 2:
        pids = [int(r["pid"]) for r in (runs(project) if (project / "experiments").exists() else [])
                if r.get("pid")]
        time.sleep(0.5)
    assert len(pids) == 2, "both trials should have started"
    assert {cluster.node_of(pid) for pid in pids} == {"node_a", "node_b"}
    sweep.send_signal(signal.SIGTERM)
    out, err = sweep.communicate(timeout=60)
    assert sweep.returncode != 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"trial process {pid} still runs on its node"
    assert {r["status"] for r in runs(project)} == {"killed"}
    deadline = time.time() + 20
    while time.time() < deadline and _trial_actors(cluster):
        time.sleep(0.5)
    assert not _trial_actors(cluster)  # the trials' Ray actors ended too
    assert not list(Path(tempfile.gettempdir()).glob("exptrack-trial-*"))  # and their scratch


def _trial_actors(cluster) -> list[int]:
    found = []
    for pid in cluster.all_pids():
        try:
            if b"TrialRunner" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def test_a_trial_asking_for_a_gpu_on_a_cpu_only_cluster_is_one_line(cluster, project):
    proc = ray_sweep(project, cluster, "--gpus-per-trial", "1", wait="3")
    assert_one_line_error(proc, "GPU: 1", cluster.address, "waited 3s")
    assert not (project / "experiments").exists()  # refused before the sweep was recorded


def test_a_custom_resource_places_every_trial_on_its_node(cluster, project):
    proc = ray_sweep(project, cluster, "--resources", '{"node_b": 1}', values=(0.1, 0.2))
    assert proc.returncode == 0, proc.stderr
    nodes = {show(project, r["run_id"])["context"]["ray"]["node_id"] for r in runs(project)}
    assert nodes == {cluster.node_ids()["node_b"]}


WANDB_SCRIPT = '''
import time, wandb
wandb.init(project="demo")
cfg = wandb.config
for epoch in range(3):
    time.sleep(0.2)
    wandb.log({"val_acc": 1 - abs(cfg.lr - 0.01) * 10 + epoch * 0.01}, step=epoch)
wandb.finish()
'''


def test_an_unchanged_wandb_script_on_a_remote_node_is_tracked_from_its_shipped_files(cluster, project):
    pytest.importorskip("wandb")
    from exptrack_plugins.wandb.records import find_run_files, read_run

    (project / "train_wandb.py").write_text(WANDB_SCRIPT)
    (project / "sweep.yaml").write_text(
        "program: train_wandb.py\nmethod: grid\nmetric: {name: val_acc, goal: maximize}\n"
        "parameters:\n  lr: {values: [0.001, 0.01]}\n")
    proc = run_cli("sweep", "--config", "sweep.yaml", "--executor", "ray", "--ray-address",
                   cluster.address, "--quiet", cwd=project)
    assert proc.returncode == 0, [show(project, r["run_id"])["note"] for r in runs(project)]
    for r in runs(project):
        full = show(project, r["run_id"])
        assert full["status"] == "completed" and len(full["metrics"]["val_acc"]) == 3
        [wandb_file] = find_run_files(project / full["run_dir"])  # came back from the node
        w = read_run(wandb_file)
        assert w.config["lr"] == full["params"]["lr"]
        assert [row["val_acc"] for row in w.history] == pytest.approx(
            [p["value"] for p in full["metrics"]["val_acc"]])


HYPERBAND_TRAIN = '''
import exptrack, time
run = exptrack.init(params={"lr": 1.0})
for step in range(8):
    run.log({"loss": run.params["lr"] + 1.0 / (step + 1)}, step=step)  # a worse lr, worse always
    if run.should_stop():
        run.log({"stopped_at": step})  # what the trial saw: told to stop after this step
        break
    time.sleep(0.2)
run.finish()
'''


def test_a_bayes_sweep_with_hyperband_prunes_trials_on_both_workers_through_should_stop(
        cluster, project):
    (project / "train.py").write_text(HYPERBAND_TRAIN)
    (project / "sweep.yaml").write_text(
        "program: train.py\nmethod: bayes\nmetric: {name: loss, goal: minimize}\nrun_cap: 10\n"
        "parameters:\n  lr: {min: 0.0, max: 5.0}\n"
        "early_terminate: {type: hyperband, min_iter: 2, eta: 3}\n")
    proc = run_cli("sweep", "--config", "sweep.yaml", "--executor", "ray", "--ray-address",
                   cluster.address, "--workers", "2", "--quiet", cwd=project)
    assert proc.returncode == 0, proc.stderr
    trials = {r["run_id"]: show(project, r["run_id"]) for r in runs(project)}
    assert len(trials) == 10
    ids = cluster.node_ids()
    assert {t["context"]["ray"]["node_id"] for t in trials.values()} == {ids["node_a"], ids["node_b"]}
    pruned = [t for t in trials.values() if t["status"] == "pruned"]
    assert pruned and {t["status"] for t in trials.values()} == {"completed", "pruned"}
    for t in pruned:  # each stopped on its node at its band, and its curve ends there
        steps = [p["step"] for p in t["metrics"]["loss"]]
        stopped_at = int(t["summary"]["stopped_at"]["last"])
        assert steps == list(range(stopped_at + 1)) and 2 <= len(steps) < 8
        # judged at band 2 or 6 (values seen); the verdict crosses the cluster while the trial
        # goes on, so it may log a step or two more (a local trial stops at the band itself)
        assert any(0 <= len(steps) - band <= 2 for band in (2, 6)), steps
    for t in trials.values():
        if t["status"] == "completed":
            assert len(t["metrics"]["loss"]) == 8
    [sweep] = json.loads(run_cli("sweeps", "--json", cwd=project, check=True).stdout)
    assert sweep["status"] == "completed" and sum(sweep["trials"].values()) == 10
    best_lr = min(t["params"]["lr"] for t in trials.values())  # a lower lr is better at every step
    best = next(t for t in trials.values() if t["params"]["lr"] == best_lr)
    assert best["status"] == "completed"
    assert sweep["best"] == pytest.approx(best_lr + 1.0 / 8)
