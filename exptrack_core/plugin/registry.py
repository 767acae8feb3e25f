"""Loading plugins from the ``exptrack`` entry-point group and the registry of what they provide.

Core code never calls ``pm.hook.*`` directly: ``Registry`` collects every family once (calling each
plugin's hooks through pluggy, one plugin at a time) and answers
``registry.get("backend", "wandb")`` with a clear error listing what exists.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pluggy

from exptrack_core.plugin import hookspecs as hookspecs
from exptrack_core.errors import ExptrackError, PluginLoadError, UnknownNameError

if TYPE_CHECKING:  # pragma: no cover - types only
    from exptrack_core.plugin.interfaces import (Backend, EarlyStopper, Executor, RunInfo,
                                                 SearchStrategy, Tracker, TrialAdapter)
    from exptrack_core.sweep.space import ParamSpace

ENTRY_POINT_GROUP = "exptrack"
BUILTIN_DIST = "exptrack"
BUILTIN_PACKAGE = "exptrack_plugins"
FAMILIES = {
    "tracker": "register_trackers",
    "backend": "register_backends",
    "strategy": "register_strategies",
    "stopper": "register_stoppers",
    "executor": "register_executors",
    "trial_adapter": "register_trial_adapters",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass
class Provided:
    """One thing a plugin registered: a backend named ``wandb``, a strategy named ``grid``..."""

    family: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    provides: list[Provided] = field(default_factory=list)


@dataclass
class BrokenPlugin:
    name: str
    distribution: str
    error: str


class Registry:
    """Everything the loaded plugins registered, by family and name."""

    def __init__(self, pm: pluggy.PluginManager, infos: dict[str, PluginInfo],
                 broken: list[BrokenPlugin]):
        self.pm = pm
        self.plugins = infos
        self.broken = broken
        self._items: dict[str, dict[str, Provided]] = {f: {} for f in FAMILIES}
        for family, hook_name in FAMILIES.items():
            for plugin_name, call in each_plugin(pm, hook_name):
                try:
                    call(register=self._registrar(family, plugin_name))
                except ExptrackError:
                    raise
                except Exception as exc:
                    info = infos.get(plugin_name)
                    if info is None or info.distribution == BUILTIN_DIST:
                        raise PluginLoadError(
                            f"built-in plugin {plugin_name!r} failed in {hook_name}: {exc!r}") from exc
                    self._drop(plugin_name, f"{hook_name} raised {exc!r}")

    def _registrar(self, family: str, plugin: str) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any], description: str = "") -> None:
            if not isinstance(name, str) or not _NAME.match(name):
                raise ExptrackError(
                    f"plugin {plugin!r} registered an invalid {family} name {name!r}; "
                    "names are lowercase letters, digits, '-' and '_'")
            existing = self._items[family].get(name)
            if existing is not None:
                raise ExptrackError(
                    f"{family} {name!r} is registered by both {existing.plugin!r} and {plugin!r}; "
                    f"uninstall one or block it with EXPTRACK_DISABLE_PLUGINS={plugin}")
            item = Provided(family, name, factory, plugin, description)
            self._items[family][name] = item
            if plugin in self.plugins:
                self.plugins[plugin].provides.append(item)
        return register

    def _drop(self, plugin: str, error: str) -> None:
        info = self.plugins.pop(plugin, None)
        for family in self._items.values():
            for name in [n for n, p in family.items() if p.plugin == plugin]:
                del family[name]
        dist = info.distribution if info else "?"
        _warn_broken(BrokenPlugin(plugin, dist, error))
        self.broken.append(BrokenPlugin(plugin, dist, error))

    # One typed method per family: the only way core code builds a plugin's object, so each
    # family's factory signature is written down once.
    def tracker(self, name: str, root: Path) -> Tracker:
        return self.get("tracker", name).factory(root)

    def backend(self, name: str, run: RunInfo, options: dict[str, Any]) -> Backend:
        return self.get("backend", name).factory(run, options)

    def strategy(self, name: str, space: ParamSpace, config: dict[str, Any], seed: int | None
                 ) -> SearchStrategy:
        return self.get("strategy", name).factory(space, config, seed)

    def stopper(self, name: str, config: dict[str, Any], goal: str) -> EarlyStopper:
        return self.get("stopper", name).factory(config, goal)

    def executor(self, name: str, options: dict[str, Any]) -> Executor:
        return self.get("executor", name).factory(options)

    def trial_adapters(self) -> list[TrialAdapter]:
        """Every registered trial adapter, built, in name order."""
        return [self._items["trial_adapter"][n].factory() for n in self.names("trial_adapter")]

    def names(self, family: str) -> list[str]:
        return sorted(self._items[family])

    def get(self, family: str, name: str) -> Provided:
        if family not in self._items:
            raise UnknownNameError("plugin family", family, list(self._items))
        try:
            return self._items[family][name]
        except KeyError:
            raise UnknownNameError(family, name, self.names(family)) from None


def each_plugin(pm: pluggy.PluginManager, hook_name: str
                ) -> Iterator[tuple[str, Callable[..., Any]]]:
    """``(plugin name, caller)`` for every plugin implementing ``hook_name``, in load order.

    Each caller is pluggy's own hook caller narrowed to one plugin, so pluggy passes every
    implementation only the keyword arguments it names: a spec can grow an argument and plugins
    written for the old spec keep working. One call per plugin keeps a raising third-party plugin
    from taking the others' registrations down with it.
    """
    caller = getattr(pm.hook, hook_name)
    plugins = [impl.plugin for impl in caller.get_hookimpls()]
    for plugin in plugins:
        others = [p for p in plugins if p is not plugin]
        yield pm.get_name(plugin) or "?", pm.subset_hook_caller(hook_name, others)


def _warn_broken(b: BrokenPlugin) -> None:
    print(f"exptrack: warning: plugin {b.name!r} from {b.distribution} was skipped: {b.error}",
          file=sys.stderr)


def _disabled() -> set[str]:
    return {n.strip() for n in os.environ.get("EXPTRACK_DISABLE_PLUGINS", "").split(",") if n.strip()}


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(c.name for c in (pm.get_hookcallers(plugin) or []))


def build_registry(entry_points: list[md.EntryPoint] | None = None) -> Registry:
    """Load every plugin of the ``exptrack`` entry-point group into a fresh registry."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    broken: list[BrokenPlugin] = []
    eps = entry_points if entry_points is not None else list(md.entry_points(group=ENTRY_POINT_GROUP))
    disabled = _disabled()
    for ep in sorted(eps, key=lambda e: e.name):
        if ep.name in disabled or ep.name in infos:
            continue
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a plugin's import may fail in any way
            if dist == BUILTIN_DIST or ep.value.startswith(BUILTIN_PACKAGE):
                raise PluginLoadError(f"built-in plugin {ep.name!r} failed to load: {exc!r}") from exc
            b = BrokenPlugin(ep.name, f"{dist} {version}", f"{type(exc).__name__}: {exc}")
            _warn_broken(b)
            broken.append(b)
            continue
        infos[ep.name] = PluginInfo(ep.name, dist, version, _hooks_of(pm, module))
    pm.check_pending()
    return Registry(pm, infos, broken)


_registry: Registry | None = None
_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = build_registry()
        return _registry


__all__ = ["BrokenPlugin", "ENTRY_POINT_GROUP", "FAMILIES", "PluginInfo", "Provided", "Registry",
           "build_registry", "each_plugin", "get_registry"]
