"""Plugin loading: built-ins through entry points, broken plugins, unknown names, `exptrack plugins`."""

from __future__ import annotations

import importlib.metadata as md
import json
import sys

import pluggy
import pytest

import exptrack
from exptrack_core.errors import PluginLoadError
from exptrack_core.plugin import hookspecs
from exptrack_core.plugin.hookspecs import hookimpl
from exptrack_core.plugin.registry import PluginInfo, Registry, build_registry, each_plugin

from .conftest import run_cli


def test_builtins_are_listed_with_their_distribution_and_hooks(workdir):
    proc = run_cli("plugins", "--json", check=True)
    plugins = {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}
    assert plugins["local"]["distribution"] == "exptrack"
    assert plugins["local"]["version"] == md.version("exptrack")
    assert plugins["local"]["hooks"] == ["register_trackers"]
    assert {"family": "tracker", "name": "local",
            "description": plugins["local"]["provides"][0]["description"]} in plugins["local"]["provides"]
    table = run_cli("plugins", check=True).stdout
    assert "local" in table and "tracker" in table


def _ep(name, value):
    return md.EntryPoint(name=name, value=value, group="exptrack")


def test_a_broken_third_party_plugin_is_reported_and_skipped(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_plugin_mod.py").write_text("raise ImportError('needs libfoo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = list(md.entry_points(group="exptrack")) + [_ep("broken", "broken_plugin_mod")]
    registry = build_registry(eps)
    err = capsys.readouterr().err
    assert "'broken'" in err and "needs libfoo" in err
    assert "local" in registry.names("tracker")
    assert [b.name for b in registry.broken] == ["broken"]


def test_a_broken_builtin_is_a_hard_error():
    with pytest.raises(PluginLoadError, match="built-in plugin 'ghost'"):
        build_registry([_ep("ghost", "exptrack_plugins.no_such_module")])


def test_disabled_plugins_are_not_loaded(monkeypatch):
    monkeypatch.setenv("EXPTRACK_DISABLE_PLUGINS", "console")
    assert "console" not in build_registry().names("backend")


def test_an_unknown_backend_lists_the_available_ones(workdir):
    with pytest.raises(exptrack.UnknownNameError, match="unknown backend 'mlflw'.*console.*local"):
        exptrack.init(experiment="e", backends="local,mlflw")
    assert not (workdir / "experiments").exists()  # refused before anything was written


def test_help_imports_no_heavy_library(workdir):
    code = ("import sys, exptrack, exptrack_core.cli as c\n"
            "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'wandb', 'tensorboard', 'dvc', 'optuna', 'pandas', 'ray')"
            " if m in sys.modules]\nprint('HEAVY', heavy)")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out


# --- hooks are called through pluggy, one plugin at a time -----------------------------------------

_spec = pluggy.HookspecMarker("exptrack")


class _GrownSpecs:
    """``register_backends`` as a later exptrack might declare it, grown by an ``options`` argument."""

    @_spec
    def register_backends(self, register, options):
        """Args: register, options."""


class _OldStyle:
    @hookimpl
    def register_backends(self, register):
        register("old-sink", dict)


class _NewStyle:
    def __init__(self):
        self.options = None

    @hookimpl
    def register_backends(self, register, options):
        self.options = options
        register("new-sink", dict)


def test_a_spec_grown_by_an_argument_calls_old_and_new_plugins_with_what_each_asks_for():
    pm = pluggy.PluginManager("exptrack")
    pm.add_hookspecs(_GrownSpecs)
    new = _NewStyle()
    pm.register(_OldStyle(), name="old")
    pm.register(new, name="new")
    registered = []
    for plugin, call in each_plugin(pm, "register_backends"):
        call(register=lambda name, factory, p=plugin: registered.append((p, name)),
             options={"verbose": True})
    assert registered == [("old", "old-sink"), ("new", "new-sink")]
    assert new.options == {"verbose": True}  # not the register callback


class _Raising:
    @hookimpl
    def register_trackers(self, register):
        register("half-made", dict)
        raise RuntimeError("cannot reach the license server")


def _registry_with(plugin, distribution):
    pm = pluggy.PluginManager("exptrack")
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name="flaky")
    info = PluginInfo("flaky", distribution, "1.0", ["register_trackers"])
    return Registry(pm, {"flaky": info}, [])


def test_a_third_party_hook_that_raises_drops_that_plugin_with_one_warning(capsys):
    registry = _registry_with(_Raising(), "exptrack-flaky")
    err = capsys.readouterr().err.splitlines()
    assert err == ["exptrack: warning: plugin 'flaky' from exptrack-flaky was skipped: "
                   "register_trackers raised RuntimeError('cannot reach the license server')"]
    assert "half-made" not in registry.names("tracker")  # what it registered before failing too
    assert [b.name for b in registry.broken] == ["flaky"] and "flaky" not in registry.plugins


def test_a_builtin_hook_that_raises_is_an_error():
    with pytest.raises(PluginLoadError, match="built-in plugin 'flaky' failed in register_trackers"):
        _registry_with(_Raising(), "exptrack")


def test_the_registry_builds_each_family_by_name_and_refuses_unknown_names(tmp_path):
    registry = build_registry()
    tracker = registry.tracker("local", tmp_path)
    run_id = tracker.create_run("demo", params={"lr": 0.1})
    assert tracker.get_run(run_id)["params"] == {"lr": 0.1}
    assert hasattr(registry.stopper("median", {"type": "median"}, "minimize"), "should_stop")
    assert hasattr(registry.executor("inline", {}), "launch")
    with pytest.raises(exptrack.UnknownNameError, match="unknown executor 'slurm'.*inline"):
        registry.executor("slurm", {})


class _EveryFamily:
    """A third-party plugin contributing one thing to each family the sweep uses."""

    @hookimpl
    def register_strategies(self, register):
        register("first-corner", lambda space, config, seed: _Corner(space), "always the minimum")

    @hookimpl
    def register_stoppers(self, register):
        register("never", lambda config, goal: _Never(), "lets every trial finish")

    @hookimpl
    def register_executors(self, register):
        from exptrack_plugins.executors.inline import InlineExecutor
        register("inline-too", InlineExecutor, "the inline executor under another name")


class _Corner:
    def __init__(self, space):
        self.space = space

    def suggest(self, history):
        return None if history else {s.name: s.ppf(0.0) for s in self.space.specs}


class _Never:
    def should_stop(self, trial_id, curves):
        return False


def test_register_strategies_stoppers_and_executors_of_a_plugin_reach_the_registry():
    from exptrack_core.sweep.config import SweepConfig

    pm = pluggy.PluginManager("exptrack")
    pm.add_hookspecs(hookspecs)
    pm.register(_EveryFamily(), name="every")
    registry = Registry(pm, {"every": PluginInfo("every", "exptrack-every", "1.0")}, [])
    config = SweepConfig.parse({"method": "random", "parameters": {"x": {"min": 2.0, "max": 3.0}}})
    strategy = registry.strategy("first-corner", config.space, config.to_dict(), 0)
    assert strategy.suggest([]) == {"x": 2.0}
    assert registry.stopper("never", {}, "minimize").should_stop("t1", {"t1": [(1, 0.5)]}) is False
    assert registry.executor("inline-too", {}).free_slots >= 1
    assert [(p.family, p.name) for p in registry.plugins["every"].provides] == [
        ("strategy", "first-corner"), ("stopper", "never"), ("executor", "inline-too")]


class _Adapters:
    """A plugin with two trial adapters: one for every program trial, one for no trial."""

    @hookimpl
    def register_trial_adapters(self, register):
        register("zz-every", lambda: _EnvAdapter("ZZ", handles=True), "sets ZZ")
        register("aa-none", lambda: _EnvAdapter("AA", handles=False), "handles nothing")


class _EnvAdapter:
    def __init__(self, var, handles):
        self.var, self._handles, self.polled = var, handles, 0

    def handles(self, trial):
        return self._handles and trial.objective is None

    def prepare(self, trial, space):
        trial.env[self.var] = ",".join(space.agent_args(trial.params))

    def follow(self, tracker, trial):
        return self

    def poll(self):
        self.polled += 1
        return 2

    def finish(self):
        self.polled = -1


def test_register_trial_adapters_prepare_and_follow_only_the_trials_they_handle(tmp_path,
                                                                                monkeypatch):
    from exptrack_core.plugin import registry as registry_module
    from exptrack_core.sweep.adapters import prepare_trial
    from exptrack_core.sweep.launch import TrialLaunch
    from exptrack_core.sweep.space import ParamSpace

    pm = pluggy.PluginManager("exptrack")
    pm.add_hookspecs(hookspecs)
    pm.register(_Adapters(), name="adapters")
    registry = Registry(pm, {"adapters": PluginInfo("adapters", "exptrack-adapters", "1.0")}, [])
    assert registry.names("trial_adapter") == ["aa-none", "zz-every"]
    monkeypatch.setattr(registry_module, "_registry", registry)
    space = ParamSpace.parse({"lr": {"values": [0.1]}, "opt": {"value": "adam"}})
    trial = TrialLaunch("t0001", "r1", {"lr": 0.1, "opt": "adam"}, {}, tmp_path)
    follower = prepare_trial(trial, space, tracker=None)
    assert trial.env == {"ZZ": "lr,opt"}  # the one that handles it, not the other
    assert follower.poll() == 2
    follower.finish()
    assert follower.followers[0].polled == -1
    inline = TrialLaunch("t0002", "r2", {"lr": 0.1}, {}, tmp_path, objective=print)
    assert prepare_trial(inline, space, tracker=None) is None and inline.env == {}


def test_the_wandb_plugin_registers_its_trial_adapter_for_program_trials(tmp_path):
    from exptrack_core.sweep.launch import TrialLaunch
    from exptrack_core.sweep.space import ParamSpace

    registry = build_registry()
    assert "wandb" in registry.names("trial_adapter")
    adapter = registry.get("trial_adapter", "wandb").factory()
    trial = TrialLaunch("t0001", "r-1", {"lr": 0.1}, {"EXPTRACK_SWEEP_ID": "sw"}, tmp_path)
    assert adapter.handles(trial)
    adapter.prepare(trial, ParamSpace.parse({"lr": {"values": [0.1]}}))
    assert (trial.env["WANDB_SWEEP_ID"], trial.env["WANDB_RUN_ID"]) == ("sw", "r1")
    assert (tmp_path / "wandb-sweep-params.yaml").read_text().endswith("lr:\n  value: 0.1\n")
