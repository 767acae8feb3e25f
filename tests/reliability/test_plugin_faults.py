"""Plugins failing: a third-party backend (installed with an entry point, loaded by pluggy) that
raises mid-run, a plugin whose import fails, plugins blocked by EXPTRACK_DISABLE_PLUGINS, and a
module that is importable but not installed as a plugin.

(In-process registry tests of the same ideas are in tests/test_plugins.py; the pip-installed
examples in tests/test_third_party_plugins.py. Here each fault is seen by a real user process.)"""

from __future__ import annotations

import json

import pytest

import exptrack

from ..conftest import assert_one_line_error, run_cli, run_python
from .helpers import count, env_with, install_plugin

FLAKY = '''
import json
from exptrack import hookimpl


class FlakyBackend:
    """Mirrors metrics into a file, and breaks on its third call (a network that went away)."""

    def __init__(self, run, options):
        self.path = run.run_dir / "flaky.jsonl"
        self.calls = 0

    def log_params(self, params):
        pass

    def log_metrics(self, metrics, step, timestamp):
        self.calls += 1
        if self.calls == 3:
            raise ConnectionError("flaky service unreachable")
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, **metrics}) + "\\n")

    def log_artifact(self, path, name):
        pass

    def finish(self, status):
        with open(self.path, "a") as f:
            f.write(json.dumps({"finish": status}) + "\\n")


@hookimpl
def register_backends(register):
    register("flaky", FlakyBackend, "mirrors metrics, then fails")
'''

BROKEN = "raise ImportError('exptrack-broken needs libfoo.so, which is not installed')\n"

SNEAKY = '''
from exptrack import hookimpl


@hookimpl
def register_backends(register):
    register("sneaky", lambda run, options: None, "importable, but never installed as a plugin")
'''

TRAIN = """
import exptrack
with exptrack.init(experiment="e", backends="local,flaky") as run:
    print(run.id, flush=True)
    for step in range(10):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
"""


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site-packages"
    install_plugin(site, "exptrack-flaky", "exptrack_flaky", FLAKY, {"flaky": "exptrack_flaky"})
    install_plugin(site, "exptrack-broken", "exptrack_broken", BROKEN, {"broken": "exptrack_broken"})
    (site / "sneaky_plugin.py").write_text(SNEAKY)  # on the path, but no entry point
    return site


def test_a_third_party_backend_failing_mid_run_is_disabled_and_the_record_is_whole(workdir, site):
    proc = run_python(TRAIN, workdir, env=env_with(site, EXPTRACK_DISABLE_PLUGINS="broken"))
    count("faults")
    assert proc.returncode == 0, proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if "warning" in l]
    assert len(warnings) == 1, proc.stderr
    assert "backend 'flaky' failed in log_metrics" in warnings[0]
    assert "flaky service unreachable" in warnings[0]
    record = exptrack.ExperimentTracker().get_run(proc.stdout.strip())
    assert record["status"] == "completed"
    assert [p["step"] for p in record["metrics"]["loss"]] == list(range(10))
    count("records checked", 10)
    mirrored = [json.loads(l) for l in open(f"{record['run_dir']}/flaky.jsonl")]
    assert [m["step"] for m in mirrored] == [0, 1]  # disabled after the failure: never called again


def test_a_plugin_that_fails_to_import_is_named_and_everything_else_works(workdir, site):
    env = env_with(site)
    proc = run_cli("plugins", "--json", env=env)
    count("faults")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert [b["name"] for b in listed["broken"]] == ["broken"]
    assert "libfoo.so" in listed["broken"][0]["error"]
    assert "exptrack-broken" in listed["broken"][0]["distribution"]
    assert {p["name"] for p in listed["plugins"]} >= {"local", "flaky"}
    assert "plugin 'broken' from exptrack-broken" in proc.stderr and "skipped" in proc.stderr
    train = run_python(TRAIN, workdir, env=env)
    assert train.returncode == 0, train.stderr
    assert exptrack.ExperimentTracker().get_run(train.stdout.strip())["status"] == "completed"
    assert run_cli("runs", env=env).returncode == 0  # the warning is not an error


def test_disabled_plugins_are_not_loaded_and_their_names_become_unknown(workdir, site):
    env = env_with(site, EXPTRACK_DISABLE_PLUGINS="broken, console")
    listed = json.loads(run_cli("plugins", "--json", env=env, check=True).stdout)
    names = {p["name"] for p in listed["plugins"]}
    assert "flaky" in names and "console" not in names and listed["broken"] == []
    proc = run_python("import exptrack\nexptrack.init(experiment='e', backends='local,console')",
                      workdir, env=env)
    count("bad inputs")
    assert proc.returncode != 0 and "unknown backend 'console'" in proc.stderr
    assert "flaky" in proc.stderr  # the error lists what is available
    assert not (workdir / "experiments").exists()


def test_an_importable_module_is_not_a_plugin_without_an_installed_entry_point(workdir, site):
    env = env_with(site, EXPTRACK_DISABLE_PLUGINS="broken")
    listed = json.loads(run_cli("plugins", "--json", env=env, check=True).stdout)
    assert "sneaky" not in json.dumps(listed["plugins"])
    (workdir / "params.yaml").write_text("sweep: {method: grid, parameters: {x: {values: [1]}}}\n")
    count("bad inputs")
    assert_one_line_error(run_cli("sweep", "--backend", "sneaky", cwd=workdir, env=env),
                          "unknown backend 'sneaky'", "flaky", "local")
    assert not (workdir / "experiments").exists()
