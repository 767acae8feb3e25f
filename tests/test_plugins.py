"""Plugin loading: built-ins through entry points, broken plugins, unknown names, `exptrack plugins`."""

from __future__ import annotations

import importlib.metadata as md
import json
import sys

import pytest

import exptrack
from exptrack_core.errors import PluginLoadError
from exptrack_core.plugin.registry import build_registry

from .conftest import assert_one_line_error, run_cli


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
            "heavy = [m for m in ('torch', 'wandb', 'tensorboard', 'dvc', 'optuna', 'pandas')"
            " if m in sys.modules]\nprint('HEAVY', heavy)")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out
