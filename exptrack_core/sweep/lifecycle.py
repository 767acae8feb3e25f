"""Starting, resuming and summarising sweeps: what ``exptrack sweep`` and ``exptrack.sweep()`` share."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.names import check_name
from exptrack_core.params import apply_overrides, flatten, read_yaml_mapping
from exptrack_core.plugin.interfaces import TrialView
from exptrack_core.secrets import redact_params
from exptrack_core.plugin.registry import get_registry
from exptrack_core.sweep.asking import suggest
from exptrack_core.run import resolve_dir
from exptrack_core.sweep.controller import SweepOutcome, SweepRunner
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.feed import TrialFeed
from exptrack_core.sweep.journal import SweepStore

DEFAULT_PARAMS = "params.yaml"


def config_from_params(path: str | os.PathLike = DEFAULT_PARAMS, **kwargs: Any) -> SweepConfig:
    """The default sweep: the ``sweep:`` section of params.yaml."""
    p = Path(path)
    if not p.is_file():
        raise ExptrackError(f"no sweep config: {str(p)!r} does not exist; pass --config FILE "
                            "(a W&B sweep YAML) or run in a project with a params.yaml")
    data = read_yaml_mapping(p, "params file")
    if "sweep" not in data:
        raise ExptrackError(f"no sweep config: {str(p)!r} has no 'sweep:' section; add one or "
                            "pass --config FILE")
    return SweepConfig.parse({"sweep": data["sweep"]}, **kwargs)


def with_overrides(config: SweepConfig, *, method: str | None = None, metric: str | None = None,
                   goal: str | None = None, run_cap: int | None = None, seeds: int | None = None,
                   seed_key: str | None = None, time_budget: float | None = None,
                   **kwargs: Any) -> SweepConfig:
    """The config with command-line choices applied, checked again as a whole."""
    data = config.to_dict()
    if (metric or goal) and config.objectives:
        raise ExptrackError("--metric/--goal: the sweep has several objectives "
                            f"({', '.join(m.name for m in config.objectives)}); change them in its file")
    for key, value in (("seeds", seeds), ("seed_key", seed_key), ("time_budget", time_budget)):
        if value is not None:
            data[key] = value
    if method:
        data.pop(data.get("method"), None)
        data["method"] = method
    if metric or goal:
        m = dict(data.get("metric") or {})
        if metric:
            m["name"] = metric
        if goal:
            m["goal"] = goal
        data["metric"] = m
    if run_cap is not None:
        if isinstance(run_cap, bool) or not isinstance(run_cap, int) or run_cap < 1:
            raise ExptrackError(f"invalid --trials {run_cap!r}: expected a positive integer")
        data["run_cap"] = run_cap
    new = SweepConfig.parse(data, **kwargs)
    new.ignored = list(dict.fromkeys(config.ignored + new.ignored))  # to_dict() drops them
    return new


def fixed_params(overrides: list[str], params_file: str | os.PathLike = DEFAULT_PARAMS) -> dict[str, Any]:
    """``-S key=value`` given to a sweep: checked against params.yaml like ``dvc exp run -S``."""
    if not overrides:
        return {}
    p = Path(params_file)
    base = read_yaml_mapping(p, "params file") if p.is_file() else {}
    base.pop("sweep", None)  # the search's own section (its ${...} macros are not interpolations)
    applied = flatten(apply_overrides(base, overrides, strict=p.is_file()))
    before = flatten(base)
    keys = [o.split("=", 1)[0].lstrip("+").strip() for o in overrides]
    # a key inside a list (train.layers.0=128) sets the list it is in (train.layers)
    return {k: v for k, v in applied.items() if any(k == key or k.startswith(key + ".")
                                                    or key.startswith(k + ".") for key in keys)
            or k not in before}


def check_fixed(config: SweepConfig, fixed: Mapping[str, Any]) -> None:
    """A value fixed with -S on a key the sweep searches would silently replace every
    suggestion (each trial at the same value): refuse it before anything runs."""
    searched = [spec.name for spec in config.space.specs if not spec.is_constant]  # -S may override a constant
    if config.seeds and config.seed_key in fixed:
        raise ExptrackError(f"-S {config.seed_key}: the sweep runs each configuration with seeds "
                            f"0..{config.seeds - 1} of it; drop -S or --seeds")
    for key in fixed:
        hit = next((n for n in searched if key == n or key.startswith(n + ".")
                    or n.startswith(key + ".")), None)
        if hit is not None:
            raise ExptrackError(f"-S {key}: the sweep searches {hit!r}; drop -S for it or remove "
                                f"{hit!r} from the sweep's parameters")


def hidden_secrets(meta: Mapping[str, Any]) -> list[str]:
    """The secret-named -S params a sweep's record holds redacted."""
    from exptrack_core.secrets import REDACTED, is_secret_name

    return [k for k, v in (meta.get("fixed") or {}).items()
            if v == REDACTED and is_secret_name(k.rsplit(".", 1)[-1])]


def require_secrets(meta: Mapping[str, Any], given: Mapping[str, Any], command: str,
                    params_file: str | os.PathLike = DEFAULT_PARAMS) -> None:
    """Refuse, in one line naming the key and how to pass it, to go on without a secret the
    sweep was started with (its record does not hold it)."""
    for key in hidden_secrets(meta):
        if key not in given:
            known = Path(params_file).is_file() and key in flatten(
                read_yaml_mapping(Path(params_file), "params file"))
            raise ExptrackError(
                f"sweep {meta.get('sweep_id')} was started with the secret -S {key}=..., which is "
                f"not stored: give it again: {command} -S {'' if known else '+'}{key}=VALUE")


def check_secret_executor(executor: str, fixed: Mapping[str, Any]) -> None:
    """--executor dvc hands each param to ``dvc exp run -S``, which commits params.yaml into the
    experiment: a secret given with -S would be kept in git."""
    from exptrack_core.secrets import redact_params

    secret = [k for k, v in fixed.items() if redact_params({k: v})[k] != v]
    if executor == "dvc" and secret:
        raise ExptrackError(f"-S {secret[0]}: --executor dvc would commit this secret into the DVC "
                            "experiment's params.yaml; pass it through the environment instead, "
                            "or use --executor local")


def secrets_for_resume(meta: Mapping[str, Any], overrides: list[str],
                       params_file: str | os.PathLike = DEFAULT_PARAMS) -> dict[str, Any]:
    """The sweep's -S params for --resume: its record holds a secret-named one redacted, so the
    value comes from ``-S`` given again; -S for anything else is refused (the sweep is resumed as
    it was configured)."""
    hidden = hidden_secrets(meta)
    given = fixed_params(overrides, params_file) if overrides else {}
    other = [k for k in given if k not in hidden]
    if other:
        raise ExptrackError(f"--resume continues a sweep as it was configured; -S {other[0]} is "
                            "not taken (-S only gives again a secret the record does not hold"
                            + (f": {', '.join(hidden)})" if hidden else ")"))
    require_secrets(meta, given, f"exptrack sweep --resume {meta.get('sweep_id')}", params_file)
    return {**(meta.get("fixed") or {}), **given}


def check_settings(*, workers: Any = 1, max_failures: Any = 3, max_retries: Any = 1,
                   seed: Any = None) -> None:
    """The numbers a user gives a sweep, checked before its record is created."""
    for flag, value in (("--workers", workers), ("--max-failures", max_failures)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ExptrackError(f"invalid {flag} {value!r}: expected a positive integer")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ExptrackError(f"invalid --max-retries {max_retries!r}: expected 0 or a positive integer")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed < 2 ** 32):  # what every strategy's generator takes
        raise ExptrackError(f"invalid --seed {seed!r}: expected an integer from 0 to {2 ** 32 - 1}")


def experiment_name(label: str | None) -> str:
    """A valid experiment name for a sweep label: unsafe characters become ``-``."""
    import re

    name = re.sub(r"[^A-Za-z0-9_.=+,@-]+", "-", label or "").replace("..", "-")
    name = name.strip("-").lstrip("._")[:100]
    try:
        return check_name("experiment", name or "sweep")
    except ExptrackError:
        return "sweep"


def start(config: SweepConfig, *, dir: str | os.PathLike | None = None,
          experiment: str | None = None, fixed: Mapping[str, Any] | None = None,
          settings: Mapping[str, Any] | None = None, argv: list[str] | None = None) -> SweepStore:
    # An explicit --experiment must be a valid name; the sweep's name: is a label W&B accepts
    # (`ablation/lr-0.1`), so the experiment is derived from it instead of refusing the run.
    experiment = check_name("experiment", experiment) if experiment else \
        experiment_name(config.name)
    settings = dict(settings or {})
    budget = settings.get("time_budget") or config.time_budget
    if budget and "deadline" not in settings:
        settings["deadline"] = time.time() + budget  # wall clock, kept across --resume
    # a secret -S value is given again on --resume
    return SweepStore.create(resolve_dir(dir), name=config.name or experiment,
                             experiment=experiment, config=config.to_dict(), argv=argv,
                             fixed=redact_params(dict(fixed or {})), settings=settings)


def extend_budget(store: SweepStore, budget: float) -> None:
    """``--resume ID --time-budget 1h``: the sweep may start new trials for ``budget`` from now."""
    meta = store.meta()
    meta.setdefault("settings", {}).update(time_budget=budget, deadline=time.time() + budget)
    store.write_meta(meta)


def reopen(dir: str | os.PathLike | None, sweep_id: str) -> tuple[SweepStore, SweepConfig, dict]:
    store = SweepStore.open(resolve_dir(dir), sweep_id)
    meta = store.meta()
    store.trials()  # a damaged journal fails here, in one line, before anything runs
    return store, SweepConfig.parse(meta["config"], allow_large=True), meta


def executor_for(name: str, workers: int = 1, cwd: str | os.PathLike | None = None,
                 options: dict[str, Any] | None = None) -> Any:
    """Build (and so check) the executor before the sweep's record is created: a setup it
    refuses (e.g. --executor dvc outside a DVC project) leaves nothing behind."""
    from exptrack_core.sweep.controller import build_executor

    check_settings(workers=workers)
    return build_executor(name, {**(options or {}), "workers": workers,
                                 "cwd": os.fspath(cwd or os.getcwd())})


def execute(store: SweepStore, config: SweepConfig, *, executor: Any = "local", workers: int = 1,
            backends: str | None = None, seed: int | None = None, max_failures: int = 3,
            max_retries: int = 1, trial_timeout: float | None = None, objective: Callable | None = None, progress: bool = True,
            cwd: str | os.PathLike | None = None, strategy: Any = None,
            fixed: Mapping[str, Any] | None = None) -> SweepOutcome:
    """Run (or go on with) the sweep ``store``; ``fixed``: the -S params with their secrets (the
    record holds them redacted), by default the record's."""
    check_settings(workers=workers, max_failures=max_failures, max_retries=max_retries)
    if isinstance(executor, str):
        executor = executor_for(executor, workers, cwd)
    meta = store.meta()
    fixed = dict(meta.get("fixed") or {}) if fixed is None else dict(fixed)
    points = (meta.get("settings") or {}).get("grid") or []
    if strategy is None and (fixed or points):
        from exptrack_core.sweep import setgrid

        strategy = setgrid.search_for(config, seed, fixed, points)
        if points:  # run_cap counts per -S point; the controller caps the whole sweep
            total = setgrid.total_trials(config, points)  # configurations: times the seeds
            config = with_overrides(config, run_cap=total and total * (config.seeds or 1),
                                    allow_large=True)
    view = None
    if progress:
        from exptrack_core.sweep.progress import SweepProgress

        total = config.run_cap or config.grid_size() if config.method == "grid" else config.run_cap
        view = SweepProgress(total, config.metric.name if config.metric else None)
    # seeds, objectives and the budget are the feed's business, not the strategy's
    feed = TrialFeed(strategy or get_registry().strategy(
        config.method, config.space, config.to_dict(), seed), config,
        deadline=(meta.get("settings") or {}).get("deadline"),
        budget=(meta.get("settings") or {}).get("time_budget"))
    runner = SweepRunner(config, store, executor=executor, executor_options={"workers": workers},
                         backends=backends, max_failures=max_failures, max_retries=max_retries,
                         seed=seed, cwd=cwd, trial_timeout=trial_timeout,
                         fixed=fixed, objective=objective, progress=view,
                         strategy=feed)
    feed.runner = runner
    try:
        return feed.finish(runner.run())
    finally:
        if view is not None:
            view.close()


def suggestions(config: SweepConfig, n: int, seed: int | None = None,
                points: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The first ``n`` trials the strategy would run (for --dry-run): nothing is started; with
    ``points`` (an -S grid), as ``execute`` runs them."""
    if points:
        from exptrack_core.sweep.setgrid import search_for

        strategy = search_for(config, seed, {}, points)
    else:
        strategy = get_registry().strategy(config.method, config.space, config.to_dict(), seed)
    strategy = TrialFeed(strategy, config)  # seeds as the sweep hands them out
    history: list[TrialView] = []
    out = []
    for i in range(n):
        trial_id = f"t{i + 1:04d}"
        params = suggest(strategy, history, trial_id)
        if params is None:
            break
        out.append(params)
        history.append(TrialView(trial_id, params, "running"))
    return out


@dataclass
class SweepResult:
    sweep_id: str
    status: str
    best_params: dict[str, Any] | None
    best_value: float | None
    best_run_id: str | None
    trials: Any  # pandas.DataFrame, one row per trial
    message: str = ""


def trials_frame(outcome: SweepOutcome):
    import pandas as pd

    rows = []
    for t in outcome.trials:
        rows.append({"trial_id": t.trial_id, "run_id": t.run_id, "status": t.status,
                     **t.params, outcome.metric or "value": t.value})
    df = pd.DataFrame(rows)
    if not df.empty and outcome.metric in df:
        df = df.sort_values(outcome.metric, ascending=(outcome.goal == "minimize"),
                            na_position="last", kind="stable").reset_index(drop=True)
    return df


def result_of(outcome: SweepOutcome) -> SweepResult:
    best = outcome.best
    return SweepResult(outcome.sweep_id, outcome.status, dict(best.params) if best else None,
                       best.value if best else None, best.run_id if best else None,
                       trials_frame(outcome), outcome.message)


__all__ = ["SweepResult", "check_secret_executor", "executor_for", "extend_budget", "hidden_secrets", "require_secrets", "secrets_for_resume", "check_fixed", "check_settings", "config_from_params", "execute", "fixed_params",
           "reopen", "result_of", "start", "suggestions", "trials_frame", "with_overrides"]
