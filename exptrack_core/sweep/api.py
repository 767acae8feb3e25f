"""Sweeps from Python: ``exptrack.sweep(objective_or_program, config)`` and ``grid_search(...)``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.params import flatten, read_yaml_mapping
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.run import ENV_DIR
from exptrack_core.sweep import lifecycle as api
from exptrack_core.sweep.project import locate

# The names the classic grid-search guides use, and where they live in params.yaml.
ALIASES = {"learning_rate": "train.lr", "lr": "train.lr", "weight_decay": "train.weight_decay",
           "scheduler": "train.scheduler", "batch_size": "train.batch_size",
           "epochs": "train.epochs", "num_epochs": "train.epochs", "optimizer": "train.optimizer",
           "model": "model.name", "model_type": "model.name", "clip_grad_norm": "train.grad_clip",
           "warmup_epochs": "train.warmup_epochs", "label_smoothing": "train.label_smoothing"}


def sweep(objective_or_program: Callable[[dict], Any] | str, config: Mapping[str, Any] | str | os.PathLike | SweepConfig,
          *, dir: str | os.PathLike | None = None, experiment: str | None = None,
          workers: int = 1, backends: str | None = None, seed: int | None = None,
          max_failures: int = 3, fixed: Mapping[str, Any] | None = None,
          progress: bool = False, allow_large: bool = False,
          cwd: str | os.PathLike | None = None) -> api.SweepResult:
    """Run a sweep and return the best params, best value, best run id and the trials (DataFrame).

    ``objective_or_program`` is either a function called in this process with each trial's flat
    params (it may call ``exptrack.init()`` and log, and may return the metric's value or a dict
    of final metrics), or the path of a program run as a process per trial (``workers`` at once),
    in ``cwd`` (default: here). ``progress=True`` shows what ``exptrack sweep`` shows on stderr.
    """
    if isinstance(config, SweepConfig):
        cfg = config
    elif isinstance(config, (str, os.PathLike)):
        cfg = SweepConfig.load(config, allow_large=allow_large)
    else:
        cfg = SweepConfig.parse(dict(config), allow_large=allow_large)
    objective = None
    if callable(objective_or_program):
        objective, executor = objective_or_program, "inline"
        if workers != 1:
            raise ExptrackError("an in-process objective runs one trial at a time; pass a program "
                                "path to run trials in parallel processes")
    elif isinstance(objective_or_program, (str, os.PathLike)):
        executor = "local"
        data = cfg.to_dict()
        data["program"] = os.fspath(objective_or_program)
        if not Path(data["program"]).exists():
            raise ExptrackError(f"program {data['program']!r} does not exist")
        cfg = SweepConfig.parse(data, allow_large=allow_large)
    else:
        raise ExptrackError(f"expected a function or a program path, got {objective_or_program!r}")
    api.check_settings(workers=workers, max_failures=max_failures)
    store = api.start(cfg, dir=dir, experiment=experiment, fixed=dict(fixed or {}),
                      settings={"backends": backends, "seed": seed, "executor": executor})
    if progress:  # the line `exptrack sweep` starts with
        from exptrack_core.sweep.progress import started_line

        print(started_line(store, cfg), file=sys.stderr, flush=True)
    outcome = api.execute(store, cfg, executor=executor, workers=workers, backends=backends,
                          seed=seed, max_failures=max_failures, objective=objective,
                          progress=progress, cwd=cwd, fixed=dict(fixed or {}))
    if progress:
        from exptrack_core.sweep.progress import final_lines

        for line in final_lines(outcome, store):
            print(line, file=sys.stderr)
    return api.result_of(outcome)


def _dotted(key: str, known: set[str]) -> str:
    if key in known or "." in key:
        return key
    if key in ALIASES:
        return ALIASES[key]
    for section in ("train", "model", "data"):
        if f"{section}.{key}" in known:
            return f"{section}.{key}"
    raise ExptrackError(f"unknown parameter {key!r} in param_grid; use a params.yaml key "
                        f"such as {', '.join(sorted(known)[:8])}")


def grid_search(param_grid: Mapping[str, list], num_epochs: int = 3, sweep_name: str | None = None,
                *, program: str = "stages/train.py", metric: str = "val_acc",
                params_file: str = "params.yaml", dir: str | os.PathLike | None = None,
                workers: int = 1, progress: bool = True, **fixed: Any) -> dict[str, Any]:
    """Every combination of ``param_grid``, ``num_epochs`` each, with the project's training stage.

    Called from below the project root (a notebook in ``notebooks/``), ``program`` and
    ``params_file`` are found in the root (the nearest directory up with dvc.yaml or params.yaml),
    trials run there and the runs are recorded in its ``experiments/`` (unless ``dir`` or
    EXPTRACK_DIR says otherwise). ``progress=False`` silences the progress lines on stderr.

    Returns ``best_val_acc`` (the best value of ``metric``), ``best_exp_id`` (its run id),
    ``best_params``, ``total_experiments``, ``sweep_id`` and ``experiments`` (best first).
    """
    if not isinstance(param_grid, Mapping) or not param_grid:
        raise ExptrackError("param_grid must be a non-empty mapping of parameter -> list of values")
    project = locate(program, params_file)
    params_file, program = project.params_file, project.program
    if project.moved and not dir and not os.environ.get(ENV_DIR):
        dir = project.root / "experiments"  # the project's records, where `exptrack runs` looks
    known = set(flatten(read_yaml_mapping(params_file))) if Path(params_file).is_file() else set()
    parameters = {}
    for key, values in param_grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ExptrackError(f"param_grid[{key!r}] must be a non-empty list, got {values!r}")
        parameters[_dotted(key, known)] = {"values": list(values)}
    fixed_flat = {_dotted(k, known): v for k, v in fixed.items()}
    fixed_flat.setdefault("train.epochs", num_epochs)
    config = {"name": sweep_name or "grid_search", "method": "grid",
              "metric": {"name": metric, "goal": "maximize"}, "program": program,
              "command": ["${interpreter}", "${program}"], "parameters": parameters}
    result = sweep(program, config, dir=dir, workers=workers, fixed=fixed_flat,
                   experiment=sweep_name or "grid_search", progress=progress, cwd=project.root)
    experiments = [{"exp_id": row["run_id"], "trial_id": row["trial_id"], "status": row["status"],
                    metric: row.get(metric),
                    "params": {k: row[k] for k in parameters if k in row}}
                   for row in result.trials.to_dict("records")]
    return {"sweep_id": result.sweep_id, "best_val_acc": result.best_value,
            "best_exp_id": result.best_run_id, "best_params": result.best_params,
            "total_experiments": len(experiments), "experiments": experiments,
            "status": result.status}


__all__ = ["grid_search", "sweep"]
