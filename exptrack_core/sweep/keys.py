"""The sweep-file keys of seeds, budgets and multi-objective early stopping, checked.

``seeds``/``seed_key`` (each configuration run once per seed), ``time_budget`` (no new trial
after it) and ``early_terminate.metric`` (the objective a stopper watches); shared by the sweep
file and the command line, whose flags give the same values.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from exptrack_core.sweep.space import SweepConfigError

DEFAULT_SEED_KEY = "train.seed"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def time_budget(raw: Any, where: str) -> float | None:
    """A duration: seconds (a number), or a number with a unit: ``90s``, ``30m``, ``2h``, ``1d``."""
    if raw is None:
        return None
    value = None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", raw)
        if m:
            value = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if value is None or not 0 < value < float("inf"):
        raise SweepConfigError(where, f"must be a duration such as 90s, 30m, 2h or a number of "
                               f"seconds, got {raw!r}")
    return value


def check_seeds(raw: Any, where: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 1000:
        raise SweepConfigError(where, f"must be a number of seeds from 1 to 1000, got {raw!r}")
    return raw


def check_seed_key(raw: Any, where: str = "seed_key") -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", raw):
        raise SweepConfigError(where, f"must be a params key such as train.seed, got {raw!r}")
    return raw


def objectives_of(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The objectives of a sweep config dict (``SweepConfig.to_dict()``, sweep.json): ``metric``
    is one mapping, or a list of them for a multi-objective sweep; [] without a metric."""
    raw = config.get("metric")
    return [m for m in (raw if isinstance(raw, list) else [raw]) if isinstance(m, Mapping)]


def primary_metric(config: Mapping[str, Any]) -> dict[str, Any]:
    """The sweep metric (the first objective of a multi-objective sweep), {} without one."""
    found = objectives_of(config)
    return dict(found[0]) if found else {}


def watched_metric(config: Mapping[str, Any]) -> tuple[str | None, str]:
    """The metric (and its goal) that early stopping watches: ``early_terminate.metric`` on a
    multi-objective sweep, else the sweep metric. Works on ``SweepConfig.to_dict()``."""
    objectives = objectives_of(config)
    name = (config.get("early_terminate") or {}).get("metric")
    chosen = next((o for o in objectives if o.get("name") == name), None) if name else \
        (objectives[0] if objectives else None)
    return (chosen["name"], chosen.get("goal", "minimize")) if chosen else (None, "maximize")


def check_watched(early: Mapping[str, Any], names: list[str]) -> None:
    watched = early.get("metric")
    if watched is None and len(names) > 1:
        raise SweepConfigError("early_terminate.metric", (
            f"a multi-objective sweep stops trials early on one objective: name it, e.g. "
            f"early_terminate: {{..., metric: {names[0]}}} (one of {', '.join(names)})"))
    if watched is not None and watched not in names:
        raise SweepConfigError("early_terminate.metric", (
            f"{watched!r} is not an objective of the sweep; accepted: {', '.join(names)}"))


__all__ = ["DEFAULT_SEED_KEY", "check_seed_key", "check_seeds", "check_watched", "objectives_of",
           "primary_metric", "time_budget", "watched_metric"]
