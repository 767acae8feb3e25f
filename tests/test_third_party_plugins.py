"""Third-party plugins, installed with pip the way a user installs them.

The examples in ``examples/`` are real packages: ``exptrack-jsonl-sink`` (a logging backend) and
``exptrack-strategy-halton`` (a search strategy). The slow tests build one virtualenv for the
module (``--system-site-packages`` and a ``.pth`` naming this interpreter's site-packages, so
pandas and friends are not reinstalled), pip-install exptrack from a copy of this repository, the
two examples, and a third package whose import fails, then use the venv's own ``exptrack`` and
``python``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from exptrack import ExptrackError
from exptrack_core.sweep.space import ParamSpace

from .conftest import REPO

EXAMPLES = REPO / "examples"
JSONL = EXAMPLES / "exptrack-jsonl-sink"
HALTON = EXAMPLES / "exptrack-strategy-halton"


# --- the halton strategy, in this process --------------------------------------------------------

@pytest.fixture
def halton(monkeypatch):
    monkeypatch.syspath_prepend(str(HALTON))
    from exptrack_strategy_halton.halton import HaltonSearch

    return HaltonSearch


def suggestions(strategy, n):
    history: list[dict] = []
    for _ in range(n):
        params = strategy.suggest(history)
        history.append({"trial_id": str(len(history)), "params": params, "status": "completed",
                        "value": 0.0})
    return [t["params"] for t in history]


UNIT_SQUARE = ParamSpace.parse({"x": {"min": 0.0, "max": 1.0}, "y": {"min": 0.0, "max": 1.0}})


def test_unscrambled_halton_is_the_textbook_sequence(halton):
    h = halton(UNIT_SQUARE, {"method": "halton", "halton": {"scramble": False}}, seed=0)
    assert [(p["x"], round(p["y"], 12)) for p in suggestions(h, 4)] == [
        (0.0, 0.0), (0.5, round(1 / 3, 12)), (0.25, round(2 / 3, 12)), (0.75, round(1 / 9, 12))]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n, cols, rows", [(6, 2, 3), (36, 4, 9), (16, 16, 1)])
def test_the_first_trials_fall_one_in_each_cell_of_the_grid(halton, seed, n, cols, rows):
    points = suggestions(halton(UNIT_SQUARE, {}, seed=seed), n)
    cells = {(math.floor(p["x"] * cols), math.floor(p["y"] * rows)) for p in points}
    assert len(cells) == cols * rows == n


def test_a_categorical_parameter_sees_its_values_in_turn(halton):
    space = ParamSpace.parse({"lr": {"distribution": "log_uniform_values", "min": 1e-4,
                                     "max": 1e-1},
                              "optimizer": {"values": ["adam", "sgd", "adamw"]},
                              "epochs": {"value": 3}})
    points = suggestions(halton(space, {}, seed=5), 9)
    for block in range(3):
        assert sorted(p["optimizer"] for p in points[3 * block:3 * block + 3]) == [
            "adam", "adamw", "sgd"]
    assert all(p["epochs"] == 3 for p in points)
    assert all(1e-4 <= p["lr"] <= 1e-1 for p in points)
    # log-uniform in base 2: the first two learning rates are in different halves of the log range
    assert len({math.log(p["lr"] / 1e-4) // (math.log(1e3) / 2) for p in points[:2]}) == 2


def test_a_seed_gives_the_same_points_and_a_resumed_sweep_continues_the_sequence(halton):
    first = suggestions(halton(UNIT_SQUARE, {}, seed=7), 6)
    assert suggestions(halton(UNIT_SQUARE, {}, seed=7), 6) == first
    resumed = halton(UNIT_SQUARE, {}, seed=7)  # a new process, five trials already recorded
    history = [{"trial_id": str(i), "params": p, "status": "completed", "value": 1.0}
               for i, p in enumerate(first[:5])]
    assert resumed.suggest(history) == first[5]
    assert suggestions(halton(UNIT_SQUARE, {}, seed=8), 6) != first


@pytest.mark.parametrize("options, fragment", [
    ({"scrambled": True}, "unknown option 'scrambled' for method 'halton'; accepted: scramble"),
    ({"scramble": "maybe"}, "invalid option scramble='maybe' for method 'halton'; expected true or"),
    ([1], "options for method 'halton' must be a mapping, got list"),
])
def test_bad_halton_options_are_refused_by_name(halton, options, fragment):
    with pytest.raises(ExptrackError) as err:
        halton(UNIT_SQUARE, {"method": "halton", "halton": options}, seed=0)
    assert fragment in str(err.value)


# --- pip-installed, in a fresh virtualenv ----------------------------------------------------------

@dataclass
class Venv:
    bin: Path
    home: Path

    def run(self, *args: str, env: dict | None = None, input: str | None = None
            ) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("EXPTRACK_")}
        return subprocess.run([str(a) for a in args], cwd=self.home, input=input,
                              env={**clean, "PYTHONNOUSERSITE": "1", **(env or {})},
                              capture_output=True, text=True, timeout=120)

    def exptrack(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return self.run(self.bin / "exptrack", *args, env=env)

    def python(self, code: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return self.run(self.bin / "python", "-c", textwrap.dedent(code), env=env)


def _top_level_package_dirs() -> list[str]:
    """The folders pyproject.toml builds packages from (a new top-level package is found too)."""
    import tomllib

    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = setup.get("package-dir", {})
    return sorted({dirs.get(name.split(".")[0], name.split(".")[0]) for name in setup["packages"]})


def _copy_exptrack_source(dest: Path) -> Path:
    """What ``pip install .`` needs from this repository, without its build leftovers."""
    dest.mkdir()
    shutil.copy(REPO / "pyproject.toml", dest)
    readme = REPO / "README.md"
    if readme.exists():
        shutil.copy(readme, dest)
    else:  # the project's README is being written; the build only needs the file to exist
        (dest / "README.md").write_text("exptrack\n")
    for package in _top_level_package_dirs():
        shutil.copytree(REPO / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _broken_plugin(dest: Path) -> Path:
    """A third-party plugin whose import fails, as when it needs a package that is missing."""
    (dest / "exptrack_broken_demo").mkdir(parents=True)
    (dest / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "exptrack-broken-demo"
        version = "0.0.1"

        [project.entry-points.exptrack]
        broken = "exptrack_broken_demo"
        """))
    (dest / "exptrack_broken_demo" / "__init__.py").write_text(
        "raise ImportError('exptrack-broken-demo needs the missing package nosuchlib')\n")
    return dest


def _see_running_site_packages(env_dir: Path) -> None:
    """Let the new venv import what this interpreter has (pandas, setuptools, wheel...).

    ``--system-site-packages`` reaches the *base* interpreter's packages only: when the tests run
    inside a virtualenv (as CI's fresh one), its packages would be invisible. A ``.pth`` file of
    plain paths adds them after the new venv's own site-packages, so the pip-installed exptrack
    still wins; plain paths (not ``site.addsitedir``) keep the outer editable install's own
    ``.pth`` hooks out. Every site directory on ``sys.path`` counts, in order: a venv's ``.pth``
    may itself name further ones.
    """
    outer = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib"),
                           *(p for p in sys.path if Path(p).name in ("site-packages",
                                                                     "dist-packages"))])
    inner = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                            "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(inner, "_exptrack_tests_outer_site.pth").write_text(
        "".join(f"{path}\n" for path in outer if path != inner))


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    root = tmp_path_factory.mktemp("third-party")
    env_dir = root / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(env_dir)], check=True, timeout=60)
    _see_running_site_packages(env_dir)
    # copies, so that the in-tree builds leave nothing behind in the repository
    sources = [_copy_exptrack_source(root / "exptrack-src"),
               shutil.copytree(JSONL, root / JSONL.name), shutil.copytree(HALTON, root / HALTON.name),
               _broken_plugin(root / "broken")]
    # --no-deps: everything exptrack needs is already there (system site-packages);
    # --no-build-isolation: build with the installed setuptools instead of downloading one.
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
         "--no-deps", "--no-build-isolation", "--no-input", "-q", *map(str, sources)],
        capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    home = root / "home"
    home.mkdir()
    return Venv(env_dir / "bin", home)


def plugins_json(venv: Venv, env: dict | None = None) -> tuple[dict, str]:
    proc = venv.exptrack("plugins", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return {p["name"]: p for p in data["plugins"]} | {"broken:" + b["name"]: b
                                                      for b in data["broken"]}, proc.stderr


@pytest.mark.slow
def test_the_venv_uses_its_own_pip_installed_exptrack(venv):
    proc = venv.python("import exptrack_core, exptrack_jsonl_sink; "
                       "print(exptrack_core.__file__); print(exptrack_jsonl_sink.__file__)")
    assert proc.returncode == 0, proc.stderr
    core, sink = proc.stdout.split()
    assert Path(core).is_relative_to(venv.bin.parent) and "site-packages" in core
    assert Path(sink).is_relative_to(venv.bin.parent)


@pytest.mark.slow
def test_exptrack_plugins_lists_pip_installed_plugins_with_distribution_and_version(venv):
    plugins, _ = plugins_json(venv)
    jsonl, halton = plugins["jsonl"], plugins["halton"]
    assert (jsonl["distribution"], jsonl["version"]) == ("exptrack-jsonl-sink", "0.1.0")
    assert jsonl["hooks"] == ["register_backends"]
    assert [(p["family"], p["name"]) for p in jsonl["provides"]] == [("backend", "jsonl")]
    assert (halton["distribution"], halton["version"]) == ("exptrack-strategy-halton", "0.1.0")
    assert [(p["family"], p["name"]) for p in halton["provides"]] == [("strategy", "halton")]
    assert plugins["local"]["distribution"] == "exptrack"  # built-ins come the same way


@pytest.mark.slow
def test_a_run_logging_to_jsonl_writes_every_event_as_one_json_line(venv):
    proc = venv.python("""
        import exptrack
        with exptrack.init(experiment="demo", params={"train": {"lr": 0.01}},
                           backends="local,jsonl", dir="experiments") as run:
            for step, loss in enumerate([0.9, 0.5, float("nan")]):
                run.log({"loss": loss, "acc": 1 - loss}, step=step)
            open("model.txt", "w").write("weights")
            run.log_artifact("model.txt")
        print(run.id, run.dir)
        """)
    assert proc.returncode == 0, proc.stderr
    run_id, run_dir = proc.stdout.split()
    lines = (venv.home / run_dir / "events.jsonl").read_text().splitlines()

    def strict(token):
        raise AssertionError(f"not strict JSON: {token}")

    events = [json.loads(line, parse_constant=strict) for line in lines]
    assert [e["event"] for e in events] == ["start", "metrics", "metrics", "metrics", "artifact",
                                            "finish"]
    assert events[0]["experiment"] == "demo" and events[0]["params"] == {"train": {"lr": 0.01}}
    assert [(e["step"], e["metrics"]["loss"]) for e in events[1:4]] == [
        (0, 0.9), (1, 0.5), (2, None)]
    assert events[4]["name"] == "model.txt"
    assert events[5]["status"] == "completed"
    # the local tracker, the system of record, has the same steps
    record = venv.python(f"""
        import exptrack
        loss = exptrack.ExperimentTracker("experiments").get_run("{run_id}")["metrics"]["loss"]
        print([(p["step"], p["value"]) for p in loss[:2]])
        """)
    assert record.stdout.strip() == "[(0, 0.9), (1, 0.5)]", record.stderr


@pytest.mark.slow
def test_the_jsonl_path_option_chooses_the_file(venv):
    proc = venv.python("""
        import exptrack
        with exptrack.init(experiment="demo", backends="local,jsonl", dir="experiments",
                           backend_options={"jsonl": {"path": "logs/all.jsonl"}}) as run:
            run.log({"loss": 0.3}, step=1)
        """)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(l) for l in (venv.home / "logs" / "all.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "metrics", "finish"]


@pytest.mark.slow
def test_method_halton_in_a_sweep_config_gets_points_from_the_installed_strategy(venv):
    proc = venv.python("""
        import json
        from exptrack_core.plugin.registry import get_registry
        from exptrack_core.sweep.config import SweepConfig
        config = SweepConfig.parse({"method": "halton", "metric": {"name": "loss"},
                                    "parameters": {"x": {"min": 0.0, "max": 1.0},
                                                   "opt": {"values": ["adam", "sgd", "adamw"]}}})
        strategy = get_registry().strategy(
            "halton", config.space, config.to_dict(), 3)
        history = []
        for _ in range(6):
            history.append({"trial_id": str(len(history)), "status": "completed", "value": 0.0,
                            "params": strategy.suggest(history)})
        print(json.dumps([t["params"] for t in history]))
        """)
    assert proc.returncode == 0, proc.stderr
    points = json.loads(proc.stdout)
    assert {(math.floor(p["x"] * 2), p["opt"]) for p in points} == {
        (i, o) for i in (0, 1) for o in ("adam", "sgd", "adamw")}


@pytest.mark.slow
def test_a_broken_plugin_is_named_on_stderr_and_skipped_while_the_rest_works(venv):
    plugins, stderr = plugins_json(venv)
    assert ("exptrack: warning: plugin 'broken' from exptrack-broken-demo 0.0.1 was skipped: "
            "ImportError: exptrack-broken-demo needs the missing package nosuchlib") in stderr
    assert plugins["broken:broken"]["distribution"] == "exptrack-broken-demo 0.0.1"
    assert "broken" not in plugins and {"jsonl", "halton", "local"} <= set(plugins)
    quiet, stderr = plugins_json(venv, env={"EXPTRACK_DISABLE_PLUGINS": "broken"})
    assert "broken" not in stderr and "broken:broken" not in quiet


@pytest.mark.slow
def test_exptrack_disable_plugins_blocks_the_jsonl_backend(venv):
    plugins, _ = plugins_json(venv, env={"EXPTRACK_DISABLE_PLUGINS": "jsonl"})
    assert "jsonl" not in plugins and "halton" in plugins
    proc = venv.python("""
        import exptrack
        try:
            exptrack.init(experiment="demo", backends="local,jsonl", dir="blocked")
        except exptrack.ExptrackError as exc:
            print(exc)
        """, env={"EXPTRACK_DISABLE_PLUGINS": "jsonl"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("unknown backend 'jsonl'; available:")
    assert not (venv.home / "blocked").exists()  # refused before anything was recorded


@pytest.mark.slow
def test_a_sweep_with_installed_halton_median_stopping_and_jsonl_sink(venv):
    proc = venv.python("""
        import json, exptrack

        def objective(params):
            with exptrack.init(backends="local,jsonl") as run:
                for step in range(1, 7):
                    run.log({"loss": (params["x"] - 0.3) ** 2 + 1 / step}, step=step)
                    if run.should_stop():
                        break

        result = exptrack.sweep(objective, {
            "method": "halton", "metric": {"name": "loss", "goal": "minimize"},
            "early_terminate": {"type": "median", "min_steps": 2, "min_trials": 2},
            "run_cap": 8, "parameters": {"x": {"min": 0.0, "max": 1.0}}},
            seed=1, dir="sweep-demo")
        print(json.dumps({"best_x": result.best_params["x"],
                          "trials": result.trials[["run_id", "status", "x"]].to_dict("records")}))
        """)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    trials = out["trials"]
    assert len({math.floor(t["x"] * 8) for t in trials}) == 8  # one trial per eighth of [0, 1)
    assert abs(out["best_x"] - 0.3) < 1 / 8  # so one landed next to the optimum, and won
    statuses = {t["status"] for t in trials}
    assert statuses == {"completed", "pruned"}, trials
    for t in trials:
        events_file = next((venv.home / "sweep-demo").rglob(f"{t['run_id']}/events.jsonl"))
        events = [json.loads(l) for l in events_file.read_text().splitlines()]
        steps = [e["step"] for e in events if e["event"] == "metrics"]
        assert events[-1] == {**events[-1], "event": "finish", "status": t["status"]}
        assert (len(steps) < 6) == (t["status"] == "pruned")
