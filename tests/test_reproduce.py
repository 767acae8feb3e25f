"""Each run records its whole environment; ``exptrack reproduce RUN`` prints what rebuilds it, and
those commands, run in a fresh clone, give the run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import exptrack

from .conftest import assert_one_line_error, run_cli
from .sweep_helpers import make_project


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def committed_project(root: Path) -> Path:
    root.mkdir()
    make_project(root)
    git("init", "-q", cwd=root)
    (root / ".gitignore").write_text("experiments/\n")
    git("add", "-A", cwd=root)
    git("commit", "-qm", "toy project", cwd=root)
    return root


def pip_list() -> dict[str, str]:
    """pip's own account of the environment (what ``pip freeze`` would reinstall)."""
    out = subprocess.run([sys.executable, "-m", "pip", "list", "--format=json",
                          "--disable-pip-version-check"], capture_output=True, text=True,
                         check=True).stdout
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out)}


def test_a_run_records_every_installed_distribution_as_pip_sees_them(workdir):
    with exptrack.init(experiment="e") as run:
        pass
    env = exptrack.ExperimentTracker().get_run(run.id)["context"]["environment"]
    recorded = {k.lower().replace("_", "-"): v for k, v in env["distributions"].items()}
    assert recorded == pip_list()
    assert env["local"]["exptrack"]["editable"] is True  # installed from the checkout, not PyPI


def test_reproduce_prints_checkout_install_and_rerun_and_they_rebuild_the_run(tmp_path):
    root = committed_project(tmp_path / "project")
    proc = subprocess.run([sys.executable, "train.py"], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "EXPTRACK_PARAMS": json.dumps({"train.lr": 0.03})})
    assert proc.returncode == 0, proc.stderr
    [run] = exptrack.ExperimentTracker(root / "experiments").list_runs()
    out = run_cli("reproduce", run["run_id"], cwd=root, check=True).stdout.splitlines()
    commit = git("rev-parse", "HEAD", cwd=root).strip()
    assert f"git checkout {commit}   # branch {git('branch', '--show-current', cwd=root).strip()}" in out
    assert not any("warning" in line for line in out)
    req = f"requirements-{run['run_id']}.txt"
    assert f"pip install -r {req}" in out
    assert any(line.startswith(f"exptrack reproduce {run['run_id']} --requirements > {req}")
               for line in out)
    pins = run_cli("reproduce", run["run_id"], "--requirements", cwd=root, check=True).stdout
    assert f"pandas=={pip_list()['pandas']}" in pins.splitlines()
    assert "exptrack==" not in pins  # installed from a directory: its own line says how
    assert any(line.startswith("pip install --no-deps -e ") for line in out)

    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    git("checkout", "-q", commit, cwd=clone)
    rerun = out[-1]
    assert rerun.startswith("env 'EXPTRACK_PARAMS=") and "train.py" in rerun
    again = subprocess.run(["bash", "-c", rerun], cwd=clone, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    [copy] = exptrack.ExperimentTracker(clone / "experiments").list_runs()
    assert copy["params"] == run["params"] and copy["params"]["train"]["lr"] == 0.03
    assert copy["summary"]["val_acc"] == run["summary"]["val_acc"]


def test_a_dirty_tree_is_warned_about(tmp_path):
    root = committed_project(tmp_path / "project")
    (root / "train.py").write_text((root / "train.py").read_text() + "\n# changed\n")
    subprocess.run([sys.executable, "train.py"], cwd=root, check=True, capture_output=True)
    [run] = exptrack.ExperimentTracker(root / "experiments").list_runs()
    out = run_cli("reproduce", run["run_id"], cwd=root, check=True).stdout
    assert "# warning: the working tree had uncommitted changes when it ran" in out


def test_a_sweep_trial_reproduces_with_the_line_best_gives(tmp_path):
    root = make_project(tmp_path)
    run_cli("sweep", "--trials", "2", "--quiet", cwd=root, check=True)
    best = run_cli("best", "--metric", "val_acc", "--format", "json", cwd=root, check=True)
    result = json.loads(best.stdout)
    out = run_cli("reproduce", result["run_id"], cwd=root, check=True).stdout.splitlines()
    assert out[-1] == result["rerun"]
    assert "# warning: it ran outside a git repository: there is no commit to check out" in out


def test_an_unknown_run_is_one_line(tmp_path):
    make_project(tmp_path)
    run_cli("sweep", "--trials", "1", "--quiet", cwd=tmp_path, check=True)
    assert_one_line_error(run_cli("reproduce", "nope", cwd=tmp_path), "unknown run id 'nope'")


ENV_OF_A_RUN = ("import exptrack, json\n"
                "with exptrack.init(experiment='e') as run: pass\n"
                "print(json.dumps(exptrack.ExperimentTracker().get_run(run.id)['context']"
                "['environment']['distributions']))\n")


def toy_package(root: Path, version: str) -> Path:
    src = root / f"toy-{version}"
    (src / "toy_dist").mkdir(parents=True)
    (src / "toy_dist/__init__.py").write_text("")
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "toy-dist"\nversion = "{version}"\n')
    return src


@pytest.mark.slow
def test_installing_or_upgrading_a_package_changes_what_the_next_run_records(tmp_path):
    import time

    site, work = tmp_path / "site", tmp_path / "work"
    site.mkdir()
    (work / "experiments").mkdir(parents=True)
    time.sleep(2.1)  # the cache trusts only sys.path entries unchanged for 2 s
    env = {**os.environ, "PYTHONPATH": str(site), "EXPTRACK_CACHE_DIR": str(tmp_path / "cache")}

    def recorded() -> dict:
        proc = subprocess.run([sys.executable, "-c", ENV_OF_A_RUN], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def install(version: str) -> None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--no-build-isolation", "--upgrade", "--target", str(site),
                        str(toy_package(tmp_path, version))], check=True, capture_output=True)
        time.sleep(2.1)  # older than the cache's 2 s guard: the next runs use the cache

    assert "toy-dist" not in recorded() and "toy-dist" not in recorded()  # the second: cached
    assert list((tmp_path / "cache/environments").glob("*.json"))
    install("0.1")
    assert recorded()["toy-dist"] == "0.1" and recorded()["toy-dist"] == "0.1"
    install("0.2")
    assert recorded()["toy-dist"] == "0.2"


def test_a_checkout_on_sys_path_with_a_build_s_egg_info_is_recorded_as_an_editable_source(tmp_path):
    """CI's case: ``pip install -e .`` leaves ``exptrack.egg-info`` in the checkout and
    ``python -m pytest`` puts the checkout first on sys.path, so the egg-info (no PEP 610 record)
    is the distribution that imports; ``reproduce`` must still say 'install this directory'."""
    src = toy_package(tmp_path, "0.3")
    info = src / "toy_dist.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: toy-dist\nVersion: 0.3\n")
    program = ("import json\nfrom exptrack_core import environment\n"
               "print(json.dumps(environment.scan()['local'].get('toy-dist')))\n")
    proc = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(src),
                                          "EXPTRACK_CACHE_DIR": "off"}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"url": src.resolve().as_uri(), "editable": True}
