"""``--executor ray`` set up wrong is one line and exit 2; what a node ships lands in the record.

These need no cluster: the shipping is tested between two directories on this machine, a real
trial program writing the node-side copy of its run.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import assert_one_line_error, run_cli, run_python

SWEEP = "program: train.py\nmethod: grid\nparameters:\n  lr: {values: [0.1]}\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "train.py").write_text("import exptrack\nexptrack.init().finish()\n")
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    return tmp_path


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_nobody_answers_at_is_one_line_naming_it(project):
    pytest.importorskip("ray")
    address = f"127.0.0.1:{_unused_port()}"
    proc = run_cli("sweep", "--config", "sweep.yaml", "--executor", "ray", "--ray-address",
                   address, cwd=project)
    assert_one_line_error(proc, f"cannot reach the Ray cluster at {address}")
    assert not (project / "experiments").exists()


def test_without_ray_installed_it_is_one_line_naming_the_address_and_the_install(project, tmp_path):
    hidden = tmp_path / "no-ray" / "ray"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    proc = run_cli("sweep", "--config", "sweep.yaml", "--executor", "ray", "--ray-address",
                   "10.0.0.7:6379", cwd=project, env={"PYTHONPATH": str(hidden.parent)})
    assert_one_line_error(proc, "the Ray cluster at 10.0.0.7:6379", "pip install 'exptrack[ray]'")
    assert not (project / "experiments").exists()


@pytest.mark.parametrize("flags, named", [
    (["--resources", "{node_a: 1}"], "invalid --resources '{node_a: 1}'"),
    (["--resources", '{"node_a": -1}'], "invalid --resources node_a -1"),
    (["--gpus-per-trial", "two"], "invalid --gpus-per-trial 'two'"),
    (["--cpus-per-trial", "0"], "must ask for something"),
])
def test_a_bad_resource_request_is_one_line_naming_it(project, flags, named):
    pytest.importorskip("ray")
    proc = run_cli("sweep", "--config", "sweep.yaml", "--executor", "ray", "--ray-address",
                   f"127.0.0.1:{_unused_port()}", *flags, cwd=project)
    assert_one_line_error(proc, named)


def test_a_ray_flag_with_another_executor_is_refused(project):
    proc = run_cli("sweep", "--config", "sweep.yaml", "--gpus-per-trial", "1", cwd=project)
    assert_one_line_error(proc, "--gpus-per-trial is an option of --executor ray")
    assert not (project / "experiments").exists()


NODE_TRIAL = '''
import os, exptrack
run = exptrack.init()
run.log({"loss": 0.5}, step=0)
run.log({"loss": 0.25, "acc": 0.9}, step=1)
os.makedirs("ckpt", exist_ok=True)
open("ckpt/last.pt", "wb").write(b"weights" * 1000)
run.log_artifact("ckpt/last.pt")
with open(os.path.join(str(run.dir), "notes.log"), "a") as f:
    f.write("epoch 1 done\\n")
run.finish()
'''


def test_what_a_trial_writes_in_its_node_copy_lands_in_the_controllers_run(tmp_path):
    """Controller: a run created as a sweep creates it. Node: a copy of its directory elsewhere,
    a real program logging into it. Shipped scan by scan, the controller's run reads the same."""
    from exptrack_core.run import get_tracker
    from exptrack_plugins.ray.sync import RunScanner, apply_batch, snapshot

    controller = get_tracker(tmp_path / "controller")
    run_id = controller.create_run("exp", params={"lr": 0.1}, sweep_id="s1", trial_id="t0001")
    node_dir = tmp_path / "node" / "exp" / run_id
    for rel, data in snapshot(controller.run_dir(run_id)).items():
        (node_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (node_dir / rel).write_bytes(data)
    scanner = RunScanner(node_dir)
    proc = run_python(NODE_TRIAL, cwd=tmp_path, env={
        "EXPTRACK_DIR": str(tmp_path / "node"), "EXPTRACK_RUN_ID": run_id,
        "EXPTRACK_SWEEP_ID": "s1", "EXPTRACK_TRIAL_ID": "t0001"})
    assert proc.returncode == 0, proc.stderr
    while apply_batch(controller, run_id, scanner.scan(), {"ray": {"host": "n1"}}):
        pass
    controller.close(run_id)
    run = get_tracker(tmp_path / "controller").get_run(run_id)
    assert run["status"] == "completed"
    assert [p["value"] for p in run["metrics"]["loss"]] == [0.5, 0.25]
    assert run["summary"]["acc"]["last"] == 0.9
    assert run["context"]["ray"] == {"host": "n1"}
    assert run["artifacts"] == ["last.pt"]
    run_dir = controller.run_dir(run_id)
    assert (run_dir / "artifacts" / "last.pt").read_bytes() == b"weights" * 1000
    assert (run_dir / "notes.log").read_text() == "epoch 1 done\n"
    assert (run_dir / "metrics.csv").read_text() == (node_dir / "metrics.csv").read_text()


def test_an_appended_log_is_shipped_by_offset_and_a_rewritten_file_whole(tmp_path):
    from exptrack_plugins.ray.sync import RunScanner, _write_file

    node, dest = tmp_path / "node", tmp_path / "dest"
    node.mkdir(), dest.mkdir()
    scanner = RunScanner(node)
    (node / "out.log").write_text("one\n")
    (node / "state.json").write_text('{"epoch": 1}')
    for rel, offset, data in scanner.scan()["files"]:
        _write_file(dest, rel, offset, data)
    with open(node / "out.log", "a") as f:
        f.write("two\n")
    (node / "state.json").write_text('{"e": 2}')
    shipped = {rel: (offset, data) for rel, offset, data in scanner.scan()["files"]}
    assert shipped == {"out.log": (4, b"two\n"), "state.json": (None, b'{"e": 2}')}
    for rel, (offset, data) in shipped.items():
        _write_file(dest, rel, offset, data)
    assert (dest / "out.log").read_text() == "one\ntwo\n"
    assert json.loads((dest / "state.json").read_text()) == {"e": 2}
