"""The ``system`` backend: CPU, memory and GPU use sampled on a background thread into the run's
record as system/* metrics; on by default for the pipeline. There is no GPU here: its path is
checked by its absence (no gpu metrics, nothing said)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import exptrack
from exptrack_plugins.system.backend import Gpus

from .conftest import run_cli


PROGRAM = textwrap.dedent("""
    import subprocess, sys, time, exptrack
    # a child holding 150 MB: the process memory counts the children too
    child = subprocess.Popen([sys.executable, "-c",
                              "import time; b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(30)"])
    with exptrack.init(experiment="sys", backends="local,system",
                       backend_options={"system": {"interval": 0.1}}) as run:
        for step in range(10):
            end = time.time() + 0.1
            while time.time() < end:
                pass  # busy: CPU in use
            run.log({"loss": 1 / (step + 1)}, step=step)
        # a loaded machine may starve the sampling thread while the loop above holds the GIL:
        # wait (sleeping, so it runs) until three samples are in, rather than for a fixed time
        deadline = time.time() + 60
        while ((run.dir / "metrics.csv").read_text().count("system/proc_rss_mb") < 3
               and time.time() < deadline):
            time.sleep(0.05)
    child.kill()
    print(run.id)
""")


def test_a_run_with_the_system_backend_records_cpu_and_memory_and_says_nothing_of_gpus(workdir):
    proc = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no GPU: nothing said
    run = exptrack.ExperimentTracker("experiments").get_run(proc.stdout.strip())
    system = {k: v for k, v in run["metrics"].items() if k.startswith("system/")}
    assert set(system) == {"system/cpu_percent", "system/memory_percent", "system/proc_rss_mb"}
    steps = [p["step"] for p in system["system/proc_rss_mb"]]
    assert len(steps) >= 3 and steps == list(range(len(steps)))  # one step per sample
    assert max(p["value"] for p in system["system/proc_rss_mb"]) > 150  # the child's memory
    # each sample measures the machine's CPU since the one before: the first, since sampling began,
    # spans the busy loop; later ones, taken while the program sleeps for its samples, may read
    # 0.0 on an idle machine
    cpu = [p["value"] for p in system["system/cpu_percent"]]
    assert cpu[0] > 0 and all(0 <= v <= 100 for v in cpu)
    assert all(0 <= p["value"] <= 100 for p in system["system/memory_percent"])
    assert [p["step"] for p in run["metrics"]["loss"]] == list(range(10))  # the run's own steps
    table = run_cli("compare", "--format", "json", check=True).stdout
    assert "loss" in table and "system/" not in table  # samples are not results
    shown = json.loads(run_cli("compare", "--split", "system", "--format", "json", check=True).stdout)
    assert {"system/cpu_percent", "system/proc_rss_mb"} <= set(shown[0])


def test_sampling_stops_when_the_run_ends_and_nothing_is_written_after(workdir):
    with exptrack.init(experiment="sys", backends="local,system",
                       backend_options={"system": {"interval": 0.05}}) as run:
        time.sleep(0.3)
    history = (run.dir / "metrics.csv").read_bytes()
    time.sleep(0.3)
    assert (run.dir / "metrics.csv").read_bytes() == history
    assert "system/proc_rss_mb" in history.decode()
    assert not [t for t in threading.enumerate() if t.name == "exptrack-system"]


def test_a_bad_interval_disables_the_backend_with_one_warning_and_the_run_goes_on(workdir, capsys):
    with exptrack.init(experiment="sys", backends="local,system",
                       backend_options={"system": {"interval": 0}}) as run:
        run.log({"loss": 1.0}, step=0)
    err = capsys.readouterr().err
    assert err.count("backend 'system' failed") == 1 and "interval" in err
    record = exptrack.ExperimentTracker("experiments").get_run(run.id)
    assert record["status"] == "completed" and list(record["metrics"]) == ["loss"]


def test_without_an_nvidia_driver_there_are_no_gpus_and_no_error():
    gpus = Gpus()
    assert gpus.handles == [] and gpus.sample() == {}
    gpus.close()


@pytest.mark.slow
def test_the_pipeline_records_system_metrics_by_default(tmp_path):
    from .test_pipeline import make_project, ok, stage

    root = make_project(tmp_path / "project", **{"train.system_metrics": 0.2})
    ok(stage("prepare", root))
    ok(stage("train", root))
    [run] = exptrack.ExperimentTracker(root / "experiments").list_runs()
    names = set(run["summary"])
    assert "system/proc_rss_mb" in names and "val_acc" in names
    assert not any(n.startswith("system/gpu") for n in names)
    mirrored = json.loads((root / "metrics/train.json").read_text())  # the dvc backend's copy
    assert not any(k.startswith("system") for k in mirrored)


def test_the_pipeline_leaves_system_metrics_out_when_system_metrics_is_0():
    from stages.train import with_system

    assert with_system("local,dvc", 5) == ["local", "dvc", "system"]
    assert with_system(["local"], 0) == ["local"]
    assert with_system("local,system", 5) == ["local", "system"]
