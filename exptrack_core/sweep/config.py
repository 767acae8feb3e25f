"""The sweep file: a superset of the W&B sweep config, parsed and checked before anything runs.

A W&B sweep YAML parses unchanged; keys that only mean something to the W&B server (``entity``,
``project``...) are accepted and listed in ``SweepConfig.ignored``. exptrack adds an options block
named after the method (``bayes: {sampler: gp}``) and accepts the ``sweep:`` section of params.yaml
(``{"sweep": {...}}``) as well as the bare mapping.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

from exptrack_core.errors import UnknownNameError
from exptrack_core.sweep.keys import (DEFAULT_SEED_KEY, check_seed_key, check_seeds, check_watched,
                                      time_budget, watched_metric)
from exptrack_core.sweep.space import ParamSpace, SweepConfigError

GRID_LIMIT = 10_000
BUILTIN_METHODS = ("bayes", "grid", "random")
# Meaningful to the W&B server or W&B Launch only; accepted so a W&B file parses unchanged.
WANDB_ONLY_KEYS = ("apiVersion", "controller", "entity", "image_uri", "job", "kind", "project",
                   "scheduler")
KNOWN_KEYS = ("command", "description", "early_terminate", "method", "metric", "name",
              "parameters", "program", "run_cap", "trial_timeout", "seeds", "seed_key", "time_budget")
GOALS = ("minimize", "maximize")
IMPUTE = ("worst", "best", "latest")
HYPERBAND_KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")


@dataclass(frozen=True)
class Metric:
    """The sweep metric: its final value per trial is what strategies optimise."""

    name: str
    goal: str = "minimize"
    target: float | None = None
    impute: str = "worst"  # what bayes assumes for failed / non-finite trials

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "goal": self.goal, "impute": self.impute}
        if self.target is not None:
            out["target"] = self.target
        return out


@dataclass
class SweepConfig:
    """A checked sweep: method, search space, metric, program/command, caps and early stopping."""

    method: str
    space: ParamSpace
    metric: Metric | None = None
    name: str | None = None
    description: str | None = None
    program: str | None = None
    command: list[str] | None = None
    run_cap: int | None = None
    trial_timeout: float | None = None  # seconds a trial may run before it is stopped
    early_terminate: dict[str, Any] | None = None
    # every objective of a multi-objective sweep (``metric:`` a list); ``metric`` is the first
    objectives: list[Metric] = field(default_factory=list)
    seeds: int | None = None        # each configuration runs with seeds 0..seeds-1 of seed_key
    seed_key: str = DEFAULT_SEED_KEY
    time_budget: float | None = None  # seconds after which no new trial starts
    options: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any, *, allow_large: bool = False,
              grid_limit: int = GRID_LIMIT) -> "SweepConfig":
        """Check a sweep mapping (or ``{"sweep": {...}}`` from params.yaml); raise
        ``SweepConfigError`` with the path of the first bad key."""
        prefix = ""
        if isinstance(data, Mapping) and "sweep" in data and "method" not in data:
            data, prefix = data["sweep"], "sweep."
        if not isinstance(data, Mapping):
            raise SweepConfigError(prefix.rstrip(".") or "sweep config",
                                   f"expected a mapping with method: and parameters:, got {data!r}")
        try:
            return cls._parse(dict(data), allow_large, grid_limit)
        except SweepConfigError as exc:
            if prefix:
                raise SweepConfigError(prefix + exc.path, exc.why) from None
            raise

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs: Any) -> "SweepConfig":
        """Read a sweep YAML file; errors name the file."""
        from exptrack_core.params import read_yaml_mapping

        data = read_yaml_mapping(path, "sweep config", version="1.1")  # as W&B reads it
        warn_numeric_strings(data.get("parameters"))
        try:
            return cls.parse(data, **kwargs)
        except SweepConfigError as exc:
            raise SweepConfigError(exc.path, f"{exc.why} (in {os.fspath(path)})") from None

    @classmethod
    def _parse(cls, data: dict[str, Any], allow_large: bool, grid_limit: int) -> "SweepConfig":
        if "method" not in data:
            raise SweepConfigError("method", f"missing; choose one of {', '.join(BUILTIN_METHODS)}")
        method = _method(data["method"])
        ignored: list[str] = []
        for key in data:
            if key in KNOWN_KEYS or key == method:
                continue
            if key in WANDB_ONLY_KEYS or key in BUILTIN_METHODS:
                ignored.append(key)
            elif key == "metrics":
                raise SweepConfigError("metrics", "unknown key; a multi-objective sweep lists its "
                                       "objectives under metric: [{name: ..., goal: ...}, ...]")
            else:
                accepted = sorted({*KNOWN_KEYS, *WANDB_ONLY_KEYS, method})
                raise SweepConfigError(str(key), (
                    f"unknown key {key!r}; accepted: {', '.join(accepted)}"))
        if "parameters" not in data:
            raise SweepConfigError("parameters", "missing; a sweep needs at least one parameter")
        space = ParamSpace.parse(data["parameters"])
        objectives = _objectives(data["metric"], ignored) if "metric" in data else []
        metric = objectives[0] if objectives else None
        cfg = cls(
            method=method, space=space, metric=metric,
            name=_text(data, "name"), description=_text(data, "description"),
            program=_text(data, "program"), command=_command(data.get("command")),
            run_cap=_run_cap(data.get("run_cap")),
            trial_timeout=trial_timeout(data.get("trial_timeout"), "trial_timeout"),
            early_terminate=_early_terminate(data.get("early_terminate"), ignored),
            objectives=objectives if len(objectives) > 1 else [],
            seeds=check_seeds(data.get("seeds"), "seeds"),
            seed_key=check_seed_key(data.get("seed_key", DEFAULT_SEED_KEY)),
            time_budget=time_budget(data.get("time_budget"), "time_budget"),
            options=_options(data.get(method), method), ignored=ignored, raw=data)
        cfg._check_method(allow_large, grid_limit)
        return cfg

    def _check_method(self, allow_large: bool, grid_limit: int) -> None:
        if self.method == "bayes" and self.metric is None:
            raise SweepConfigError("metric", "method bayes needs a metric to optimise, e.g. "
                                   "metric: {name: val_loss, goal: minimize}")
        if self.early_terminate is not None and self.metric is None:
            raise SweepConfigError("metric", "early_terminate needs a metric to compare trials by")
        if self.early_terminate is not None:
            check_watched(self.early_terminate, [m.name for m in self.objectives or [self.metric]])
        if self.seeds is not None:
            hit = next((n for n in self.space.names if n == self.seed_key
                        or n.startswith(self.seed_key + ".")), None)
            if hit is not None:
                raise SweepConfigError(f"parameters.{hit}", (
                    f"the sweep searches its seed key {self.seed_key!r}; with seeds: each "
                    "configuration runs once per seed: drop it from parameters or set seed_key"))
        if self.method == "grid":
            check_grid_size(self.space, grid_limit, allow_large, self.run_cap)

    def grid_size(self) -> int | None:
        """How many points a grid over this space has; None when a parameter is continuous."""
        try:
            return self.space.grid_size()
        except SweepConfigError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """The plain dict handed to strategy and stopper factories."""
        out: dict[str, Any] = {"method": self.method, "parameters": self.raw["parameters"],
                               self.method: dict(self.options)}
        if self.objectives:
            out["metric"] = [m.to_dict() for m in self.objectives]
        elif self.metric is not None:
            out["metric"] = self.metric.to_dict()
        if self.seeds is not None:
            out["seeds"], out["seed_key"] = self.seeds, self.seed_key
        for key in ("name", "description", "program", "command", "run_cap", "trial_timeout",
                    "early_terminate", "time_budget"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def check_grid_size(space: ParamSpace, limit: int = GRID_LIMIT, allow_large: bool = False,
                    run_cap: int | None = None) -> int:
    """The grid's size; refuse one over ``limit`` points unless ``allow_large`` (CLI ``--yes``) or a
    ``run_cap`` within the limit says how many of them will run."""
    size = space.grid_size()
    if size > limit and not allow_large and (run_cap is None or run_cap > limit):
        raise SweepConfigError("parameters", (
            f"the grid has {size:,} points, more than the limit of {limit:,}; confirm with --yes "
            "(allow_large=True), set run_cap, or use method: random / bayes"))
    return size


def _method(raw: Any) -> str:
    if raw in BUILTIN_METHODS:
        return raw
    from exptrack_core.plugin.registry import get_registry

    names = get_registry().names("strategy")
    if not isinstance(raw, str) or raw not in names:
        raise UnknownNameError("method", str(raw), names or list(BUILTIN_METHODS))
    return raw


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise SweepConfigError(key, f"must be a string, got {value!r}")
    return value


def _command(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise SweepConfigError("command", (
            f"must be a non-empty list such as [\"${{env}}\", \"${{interpreter}}\", "
            f"\"${{program}}\", \"${{args}}\"], got {raw!r}"))
    from exptrack_core.sweep.macros import check_command

    for i, item in enumerate(raw):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise SweepConfigError(f"command[{i}]", f"must be a string, got {item!r}")
    check_command([str(c) for c in raw])
    return [str(c) for c in raw]


def trial_timeout(raw: Any, where: str) -> float | None:
    """Seconds, a positive finite number; a string from the command line is read as one."""
    if raw is None:
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise SweepConfigError(where, f"must be a positive number of seconds, got {raw!r}")
    return float(value)


def _run_cap(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise SweepConfigError("run_cap", f"must be a positive integer, got {raw!r}")
    return raw


# YAML 1.1 (PyYAML, W&B) needs a dot and a signed exponent; YAML 1.2 (DVC) reads 1e-3 as a number
_EXPONENT = re.compile(r"([-+]?)(\d+)(?:\.(\d*))?[eE]([-+]?)(\d+)\Z")


def warn_numeric_strings(parameters: Any, prefix: str = "") -> None:
    """One line per parameter whose ``values``/``value``/``min``/``max`` hold a string such as
    ``1e-3``: W&B reads it as a string, which is rarely what its writer meant."""
    if not isinstance(parameters, dict):
        return
    for name, spec in parameters.items():
        if not isinstance(spec, dict):
            continue
        found = [v for field in ("values", "value", "min", "max")
                 for v in (spec.get(field) if field == "values" and isinstance(spec.get(field), list)
                           else [spec.get(field)]) if isinstance(v, str) and _EXPONENT.match(v.strip())]
        if found:
            fixes = ", ".join(f"{v!r} (write {_as_number(v)} for a number)" for v in found)
            print(f"exptrack: warning: sweep parameter {prefix + str(name)!r} holds the string {fixes}: "
                  "sweep files are read as W&B reads them (YAML 1.1)", file=sys.stderr)
        warn_numeric_strings(spec.get("parameters"), f"{prefix}{name}.")


def _as_number(text: str) -> str:
    sign, whole, frac, esign, exp = _EXPONENT.match(text.strip()).groups()
    return f"{sign}{whole}.{frac or '0'}e{esign or '+'}{exp}"


def _objectives(raw: Any, ignored: list[str]) -> list[Metric]:
    """``metric:`` is one ``{name, goal}`` or, for a multi-objective sweep, a list of them."""
    if not isinstance(raw, list):
        return [_metric(raw, ignored)]
    if not raw:
        raise SweepConfigError("metric", "an empty list; give one or more {name: ..., goal: ...}")
    out: list[Metric] = []
    for i, item in enumerate(raw):
        try:
            m = _metric(item, ignored)
        except SweepConfigError as exc:
            raise SweepConfigError(exc.path.replace("metric", f"metric[{i}]", 1), exc.why) from None
        if m.target is not None and len(raw) > 1:
            raise SweepConfigError(f"metric[{i}].target", "a multi-objective sweep has no single "
                                   "target to stop at; remove target")
        if any(o.name == m.name for o in out):
            raise SweepConfigError(f"metric[{i}].name", f"{m.name!r} is listed twice")
        out.append(m)
    return out


def _metric(raw: Any, ignored: list[str]) -> Metric:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise SweepConfigError("metric.name" if isinstance(raw, Mapping) else "metric", (
            f"a metric needs a name, e.g. metric: {{name: val_loss, goal: minimize}}; got {raw!r}"))
    for key in raw:
        if key == "impute_while_running":
            ignored.append("metric.impute_while_running")
        elif key not in ("name", "goal", "target", "impute"):
            raise SweepConfigError(f"metric.{key}", (
                f"unknown key {key!r}; accepted: goal, impute, name, target"))
    goal = raw.get("goal", "minimize")
    if goal not in GOALS:
        raise SweepConfigError("metric.goal", f"unknown goal {goal!r}; accepted: minimize, maximize")
    impute = raw.get("impute", "worst")
    if impute not in IMPUTE:
        raise SweepConfigError("metric.impute", f"{impute!r} is not one of {', '.join(IMPUTE)}")
    target = raw.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))
                               or not math.isfinite(target)):
        raise SweepConfigError("metric.target", f"must be a finite number, got {target!r}")
    return Metric(raw["name"], goal, target, impute)


def _early_terminate(raw: Any, ignored: list[str]) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "type" not in raw:
        raise SweepConfigError("early_terminate.type", (
            f"early_terminate needs a type, e.g. {{type: hyperband, min_iter: 3}}; got {raw!r}"))
    kind = raw["type"]
    if kind != "hyperband":
        from exptrack_core.plugin.registry import get_registry

        names = get_registry().names("stopper")
        if kind not in names:
            raise SweepConfigError("early_terminate.type", (
                f"unknown early-stopping type {kind!r}; available: {', '.join(names) or 'hyperband'}"))
        return dict(raw)  # the stopper plugin checks its own options
    out: dict[str, Any] = {"type": "hyperband", "eta": 3, "strict": True}
    for key, value in raw.items():
        path = f"early_terminate.{key}"
        if key == "metric":
            out[key] = value  # checked against the objectives by check_watched
        elif key not in HYPERBAND_KEYS:
            ignored.append(path)  # the W&B controller drops unknown hyperband keys too
        elif key in ("min_iter", "max_iter") and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SweepConfigError(path, f"must be a positive integer (epochs), got {value!r}")
        elif key == "s" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SweepConfigError(path, f"must be a positive integer (brackets), got {value!r}")
        elif key == "eta" and (isinstance(value, bool) or not isinstance(value, (int, float))
                               or not value > 1):
            raise SweepConfigError(path, f"must be a number > 1 (the culling factor), got {value!r}")
        elif key == "strict" and not isinstance(value, bool):
            raise SweepConfigError(path, f"must be true or false, got {value!r}")
        elif key != "type":
            out[key] = value
    if "min_iter" not in out and not ("max_iter" in out and "s" in out):
        raise SweepConfigError("early_terminate", (
            "hyperband needs min_iter, or max_iter together with s"))
    return out


def _options(raw: Any, method: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SweepConfigError(method, f"options for {method} must be a mapping, got {raw!r}")
    return dict(raw)


__all__ = ["BUILTIN_METHODS", "DEFAULT_SEED_KEY", "GRID_LIMIT", "Metric", "time_budget", "watched_metric", "SweepConfig", "SweepConfigError",
           "WANDB_ONLY_KEYS", "check_grid_size"]
