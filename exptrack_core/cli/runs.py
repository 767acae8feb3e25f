"""The commands that look at runs: runs, show, compare, best (plot is in ``cli.plot``)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.names import check_name
from exptrack_core.cli.output import check_format, dump_yaml, render_rows, render_table, write_csv
from exptrack_core.params import flatten
from exptrack_core.query import (RunTable, apply_filter, best_run, check_mode, runs_table, sort_best_first,
                    varying_params)
from exptrack_core.run import get_tracker
from exptrack_core.times import local

KEY_METRICS = ("val_acc", "val_loss", "test_acc", "val_f1", "train_loss")


def load_runs(args) -> list[dict[str, Any]]:
    """Runs selected by ``args.experiment`` / ``args.sweep``; unreadable ones are named on stderr."""
    tracker = get_tracker(args.dir)
    root = Path(tracker.root)
    if not root.exists():
        raise ExptrackError(f"no runs: directory {str(root)!r} does not exist "
                            "(pass --dir or set EXPTRACK_DIR)")
    if not root.is_dir():
        raise ExptrackError(f"{str(root)!r} is not a directory")
    errors: list[str] = []
    experiment = getattr(args, "experiment", None)
    if experiment:
        check_name("experiment", experiment)  # before it is used as a path
    if experiment and not (root / experiment).is_dir():
        names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        raise UnknownNameError("experiment", experiment, names)
    runs = tracker.list_runs(experiment, errors=errors)
    for e in errors:
        print(f"exptrack: warning: skipping unreadable run {e}", file=sys.stderr)
    sweep = getattr(args, "sweep", None)
    if sweep:
        runs = [r for r in runs if r.get("sweep_id") == sweep]
        if not runs:
            raise ExptrackError(f"no runs of sweep {sweep!r} under {str(root)!r}")
    return runs


def key_metrics(metric_names: list[str], n: int = 3) -> list[str]:
    chosen = [m for m in KEY_METRICS if m in metric_names][:n]
    return chosen + [m for m in metric_names if m not in chosen][: n - len(chosen)]


def local_times(columns: list[str], rows: list[list[Any]]) -> list[list[Any]]:
    """Rows for people: record times (stored in UTC) in local time; JSON and CSV keep UTC."""
    at = [i for i, c in enumerate(columns) if c in ("created_at", "finished_at")]
    if not at:
        return rows
    return [[local(v) if i in at else v for i, v in enumerate(row)] for row in rows]


def cmd_runs(args) -> int:
    runs = load_runs(args)
    table = runs_table(runs)
    if args.json:
        cols = ["run_id", "experiment", "status", "created_at", "sweep_id"] + table.metrics
        render_rows(cols, table.values(cols), "json")
        return 0
    cols = ["run_id", "experiment", "status", "created_at"] + key_metrics(table.metrics)
    render_rows(cols, local_times(cols, table.values(cols)), "table")
    print(f"{len(table)} run(s)")
    return 0


def cmd_show(args) -> int:
    tracker = get_tracker(args.dir)
    if args.json:  # the machine form carries the whole history, as it always has
        json.dump(tracker.get_run(args.run_id), sys.stdout, indent=1, default=str)
        print()
        return 0
    run = run_details(tracker, args.run_id)
    print(f"run {run['run_id']}  experiment {run['experiment_name']}  status {run['status']}")
    print(f"created {local(run['created_at'])}  finished {local(run.get('finished_at')) or '-'}")
    if run.get("sweep_id"):
        print(f"sweep {run['sweep_id']}  trial {run.get('trial_id')}")
    if run.get("description"):
        print(f"description: {run['description']}")
    if run.get("tags"):
        print("tags: " + ", ".join(f"{k}={v}" for k, v in run["tags"].items()))
    if run.get("note"):
        print(f"note: {run['note']}")
    print("\nparams:")
    for k, v in flatten(run["params"]).items():
        print(f"  {k}: {v}")
    print("\nmetrics (last / min / max / count):")
    rows = [[k, s["last"], s["min"], s["max"], s["count"]] for k, s in run["summary"].items()]
    render_table(["metric", "last", "min", "max", "values"], rows)
    ctx = run.get("context") or {}
    print("\ncontext:")
    git = ctx.get("git") or {}
    if git:
        print(f"  git: {git.get('commit', '')[:12]} on {git.get('branch')}"
              f"{' (dirty)' if git.get('dirty') else ''}")
    for key in ("command", "hostname", "python", "seed"):
        if ctx.get(key) is not None:
            value = " ".join(ctx[key]) if isinstance(ctx[key], list) else ctx[key]
            print(f"  {key}: {value}")
    if ctx.get("packages"):
        print("  packages: " + ", ".join(f"{k} {v}" for k, v in ctx["packages"].items()))
    if run.get("artifacts"):
        print("\nartifacts: " + ", ".join(run["artifacts"]))
    print(f"\nfiles: {run['run_dir']}")
    return 0


def run_details(tracker: Any, run_id: str) -> dict[str, Any]:
    """A run with its summary, context and artifacts but not its history (the summary holds
    last/min/max/count): a 1,000,000-value run is shown without reading a million lines."""
    run_dir = tracker.run_dir(run_id)
    try:
        return tracker.read_run(run_dir, details=True)
    except (OSError, ValueError, TypeError, AttributeError):
        return tracker.get_run(run_id)  # a tracker without ``details``, or an unreadable run: its error


def _select_columns(table: RunTable, args, sort_metric: str | None) -> list[str]:
    if args.columns:
        cols = [c.strip() for c in args.columns.split(",") if c.strip()]
        unknown = [c for c in cols if c not in table.columns]
        if unknown:
            raise UnknownNameError("column", unknown[0], table.columns)
        return cols if "run_id" in cols else ["run_id"] + cols  # rows must stay matchable to runs
    metrics = table.metrics
    if getattr(args, "split", None):
        from exptrack_core.query import split_metrics

        metrics = split_metrics(metrics, args.split)
    else:  # the system backend's samples are not results: `--split system` or `show` has them
        metrics = [m for m in metrics if not m.startswith("system/")]
    if sort_metric in metrics:
        metrics = [sort_metric] + [m for m in metrics if m != sort_metric]
    params = table.params if args.all_params else varying_params(table)
    # runs of several experiments (a batch: one per config) are told apart by their name
    named = ["experiment"] if len({r.get("experiment") for r in table.rows}) > 1 else []
    return ["run_id", *named, "status"] + params + metrics


def sweep_meta(dir: Any, sweep_id: str) -> dict[str, Any]:
    """A sweep's record (its config, settings), or {} when it cannot be read."""
    from exptrack_core.run import resolve_dir
    from exptrack_core.sweep.journal import SweepStore

    try:
        return SweepStore(resolve_dir(dir), sweep_id).meta()
    except (OSError, ValueError, ExptrackError):
        return {}


def goal_of(args, metric: str | None) -> tuple[str | None, str]:
    """The metric and mode that "best" means: --metric/--mode when given; with --sweep, the
    sweep's own metric and goal (a minimize sweep ranked by max would crown its worst trial)."""
    mode = args.mode
    name = goal = None
    if getattr(args, "sweep", None):
        from exptrack_core.sweep.keys import primary_metric

        spec = primary_metric(sweep_meta(args.dir, args.sweep).get("config") or {})
        name, goal = spec.get("name"), spec.get("goal")
    metric = metric or name
    if mode is None:
        mode = "min" if name and metric == name and goal == "minimize" else "max"
    return metric, check_mode(mode)


def cmd_compare(args) -> int:
    fmt = check_format(args.format, ("table", "csv", "json", "md"))
    runs = load_runs(args)
    if not runs:
        raise ExptrackError("no runs to compare")
    table = runs_table(runs)
    sort_by, mode = goal_of(args, args.sort_by)
    if getattr(args, "split", None) and args.sort_by is None:
        from exptrack_core.query import split_default_metric, split_metrics

        split_metrics(table.metrics, args.split)  # an unknown split fails before the table
        sort_by = split_default_metric(table.metrics, args.split) or sort_by
        mode = "max" if args.mode is None else mode
    table = apply_filter(table, args.filter)
    table = sort_best_first(table, sort_by, mode)
    if args.limit is not None and args.limit < 1:  # a slice by -1 would silently drop the last row
        raise ExptrackError(f"invalid --limit {args.limit}: expected a positive integer "
                            "(the number of rows to show)")
    columns, rows = _compare_rows(args, table, sort_by, mode, fmt)
    if args.export:
        path = Path(args.export)
        try:
            with open(path, "w", encoding="utf-8", newline="") as f:
                write_csv(columns, rows, f)
        except OSError as exc:
            raise ExptrackError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        print(f"wrote {len(rows)} row(s) to {path}", file=sys.stderr)
    render_rows(columns, rows if fmt in ("json", "csv") else local_times(columns, rows), fmt)
    return 0


def _compare_rows(args, table: RunTable, sort_by: str | None, mode: str, fmt: str
                  ) -> tuple[list[str], list[list[Any]]]:
    """One row per run, or per group of runs (--group-by, a seeded sweep); the Pareto-optimal
    rows of a multi-objective sweep marked."""
    from exptrack_core.cli.groups import group_keys, grouped, pareto_column
    from exptrack_core.sweep.keys import DEFAULT_SEED_KEY, objectives_of

    config = (sweep_meta(args.dir, args.sweep).get("config") or {}) if args.sweep else {}
    objectives = [o for o in objectives_of(config) if o.get("name") in table.metrics]
    seed_key = config.get("seed_key", DEFAULT_SEED_KEY)
    searched = []
    if config.get("seeds"):
        from exptrack_core.sweep.config import SweepConfig

        searched = [s.name for s in SweepConfig.parse(config, allow_large=True).space.specs
                    if not s.is_constant]
    keys = group_keys(args, table, seed_key, bool(config.get("seeds")), searched)
    if keys is None:
        if args.limit:
            table = table.with_rows(table.rows[: args.limit])
        columns = _select_columns(table, args, sort_by)
        rows = table.values(columns)
        if len(objectives) > 1:
            pareto_column(columns, rows, table, objectives)
        return columns, rows
    if args.columns:
        metrics = [c.strip() for c in args.columns.split(",") if c.strip() in table.metrics]
    elif len(objectives) > 1:
        metrics = [o["name"] for o in objectives]
    else:
        metrics = key_metrics(table.metrics)
        if sort_by in table.metrics:
            metrics = [sort_by] + [m for m in metrics if m != sort_by]
    if not metrics:
        raise ExptrackError("no metric to summarise per group")
    columns, rows = grouped(table, keys, metrics, mode, seed_key, args.baseline,
                            numeric=fmt in ("csv", "json"), objectives=objectives)
    return columns, rows[: args.limit] if args.limit else rows  # --limit: groups, not runs


def rerun_command(params: dict[str, Any], project_params: Path = Path("params.yaml")) -> str:
    """``dvc exp run -S k=v ...`` for the params that differ from the project's params.yaml."""
    flat = flatten(params)
    base: dict[str, Any] = {}
    if project_params.is_file():
        from exptrack_core.params import read_yaml_mapping
        try:
            base = flatten(read_yaml_mapping(project_params))
        except ExptrackError:
            base = {}
    changed = {k: v for k, v in flat.items() if base.get(k, object()) != v} if base else flat
    if not changed:
        return "dvc exp run  # params.yaml already holds these values"
    parts = ["dvc", "exp", "run"]
    for k, v in changed.items():
        value = json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else str(v)
        parts += ["-S", f"{'' if not base or k in base else '+'}{k}={value}"]
    return " ".join(shlex.quote(p) for p in parts)


def cmd_best(args) -> int:
    fmt = check_format(args.format, ("yaml", "json"))
    runs = load_runs(args)
    if not runs:
        raise ExptrackError("no runs to choose from")
    metric, mode = goal_of(args, args.metric)
    if metric is None:
        raise ExptrackError("best needs --metric NAME (or --sweep ID of a sweep with a metric)")
    result = _sweep_best(args, runs, metric, mode)
    if result is not None:
        _print_result(result, fmt)
        return 0
    found = best_run(runs, metric, mode)  # no DataFrame: pandas is not even imported
    if found is None:
        raise ExptrackError(f"no run has a finite value of {metric!r}")
    run, value = found
    result = {"run_id": run["run_id"], "experiment": run["experiment_name"],
              "metric": metric, "mode": mode, "value": value,
              "status": run["status"], "params": run["params"],
              "rerun": _rerun(args.dir, run)}
    if run.get("sweep_id"):
        result["sweep_id"] = run["sweep_id"]
        restore = dvc_restore_command(args.dir, run)
        if restore:
            result["restore"] = restore
    _print_result(result, fmt)
    return 0


def _print_result(result: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        json.dump(result, sys.stdout, indent=1, default=str)
        print()
    else:
        sys.stdout.write(dump_yaml(result))


def _sweep_best(args, runs: list[dict[str, Any]], metric: str, mode: str) -> dict[str, Any] | None:
    """A seeded sweep's best configuration (by its mean), a multi-objective sweep's Pareto
    front; None for any other selection of runs."""
    from exptrack_core.cli import sweep_best
    from exptrack_core.sweep.keys import DEFAULT_SEED_KEY, objectives_of

    config = (sweep_meta(args.dir, args.sweep).get("config") or {}) if args.sweep else {}
    seed_key = config.get("seed_key", DEFAULT_SEED_KEY) if config.get("seeds") else None
    objectives = objectives_of(config)

    def rerun(run):
        return _rerun(args.dir, run)

    if len(objectives) > 1 and not args.metric:
        return sweep_best.pareto(runs, objectives, seed_key, rerun)
    if seed_key is None:
        return None
    found = sweep_best.seeded_best(runs, metric, mode, seed_key, rerun)
    if found is None:
        raise ExptrackError(f"no configuration has a finite value of {metric!r}")
    return found


def _rerun(dir: Any, run: dict[str, Any]) -> str:
    if not run.get("sweep_id"):
        return rerun_command(run["params"])
    from exptrack_core.cli.rerun import trial_params, trial_rerun

    tracker = get_tracker(dir)
    return trial_rerun(sweep_meta(dir, run["sweep_id"]), tracker, run,
                       trial_params(tracker.root, run["sweep_id"], run.get("trial_id")), rerun_command)


def dvc_restore_command(dir: Any, run: dict[str, Any]) -> str | None:
    """``dvc exp apply NAME`` for a trial that ran as a DVC experiment (``--executor dvc``)."""
    meta = sweep_meta(dir, run["sweep_id"])
    if (meta.get("settings") or {}).get("executor") != "dvc":
        return None
    return f"dvc exp apply {run['sweep_id']}-{run['trial_id']}"


__all__ = ["cmd_best", "cmd_compare", "cmd_runs", "cmd_show", "load_runs", "rerun_command"]
