"""``exptrack sweep``, ``exptrack sweeps`` and ``exptrack promote``."""

from __future__ import annotations

import json
import sys
from typing import Any

from exptrack_core.cli.runs import rerun_command
from exptrack_core.errors import ExptrackError
from exptrack_core.cli.output import dump_yaml, fmt_cell, render_table
from exptrack_core.params import unflatten
from exptrack_core.secrets import redact_params
from exptrack_core.sweep.config import SweepConfig
from exptrack_core.sweep.controller import rank_trials
from exptrack_core.sweep.groups import best_of_groups, rank_groups
from exptrack_core.sweep.journal import SweepStore, list_sweeps
from exptrack_core.sweep.keys import DEFAULT_SEED_KEY, check_seed_key, check_seeds, objectives_of, primary_metric, time_budget
from exptrack_core.sweep.progress import best_line, outcome_line, started_line
from exptrack_core.sweep import lifecycle as api

EXIT = {"completed": 0, "budget_reached": 0, "failed": 1, "interrupted": 130}


def _config(args) -> SweepConfig:
    kwargs = {"allow_large": args.yes}
    base = SweepConfig.load(args.config, **kwargs) if args.config else api.config_from_params(
        args.params, **kwargs)
    return api.with_overrides(base, method=args.method, metric=args.metric, goal=args.goal,
                              run_cap=args.trials, seeds=check_seeds(args.seeds, "--seeds"),
                              seed_key=None if args.seed_key is None else
                              check_seed_key(args.seed_key, "--seed-key"),
                              time_budget=time_budget(args.time_budget, "--time-budget"), **kwargs)


def _print_config(config: SweepConfig, out=sys.stdout) -> None:
    metric = config.metric
    print(f"method: {config.method}", file=out)
    if config.objectives:
        print("metric: " + ", ".join(f"{m.name} ({m.goal})" for m in config.objectives)
              + "  (Pareto front)", file=out)
    elif metric:
        target = f", target {metric.target}" if metric.target is not None else ""
        print(f"metric: {metric.name} ({metric.goal}{target})", file=out)
    if config.seeds:
        print(f"seeds: {config.seeds} per configuration ({config.seed_key} = 0..{config.seeds - 1})",
              file=out)
    if config.time_budget:
        from exptrack_core.sweep.feed import format_duration

        print(f"time_budget: {format_duration(config.time_budget)}", file=out)
    size = config.grid_size()
    print(f"parameters: {', '.join(config.space.names)}"
          + (f"  (grid of {size} points)" if size is not None else ""), file=out)
    if config.run_cap:
        print(f"run_cap: {config.run_cap}", file=out)
    if config.early_terminate:
        print(f"early_terminate: {json.dumps(config.early_terminate)}", file=out)
    if config.program:
        print(f"program: {config.program}", file=out)
    if config.command:
        print(f"command: {' '.join(config.command)}", file=out)
    if config.ignored:
        print(f"ignored (meaningful only to the W&B server): {', '.join(config.ignored)}", file=out)


def _summary(outcome, store: SweepStore) -> None:
    ranked = rank_trials(outcome.trials, outcome.goal)
    trials = ranked + [t for t in outcome.trials if t not in ranked]
    names = list(dict.fromkeys(k for t in trials for k in t.params))
    objectives = objectives_of(store.meta().get("config") or {})
    if len(objectives) > 1:  # every objective of every trial, and the front they make
        _objectives_summary(outcome, store, trials, names, objectives)
    else:
        rows = [[t.trial_id, t.status, *[redact_params(t.params).get(n) for n in names], t.value]
                for t in trials]  # a secret-named param (-S +api_key=...) is never printed
        print()
        render_table(["trial", "status", *names, outcome.metric or "value"], rows,
                     title=f"sweep {outcome.sweep_id}")
    print("\n" + outcome_line(outcome))
    if outcome.best is not None and len(objectives) < 2:  # several objectives: the front above
        best = outcome.best
        print(best_line(outcome))
        print("best params:")
        shown = unflatten(redact_params(best.params))  # a secret-named param is never printed
        sys.stdout.write("".join("  " + line for line in dump_yaml(shown).splitlines(True)))
        from exptrack_core.cli.rerun import trial_params, trial_rerun
        from exptrack_core.run import get_tracker

        # the trial's own params (a seeded sweep's best.params is its configuration, without the
        # seed), as exptrack best --sweep re-runs it
        own = redact_params(trial_params(store.root, outcome.sweep_id, best.trial_id) or best.params)
        run = {"run_id": best.run_id, "params": unflatten(own)}
        print("re-run it: " + trial_rerun(store.meta(), get_tracker(store.root), run, own,
                                          rerun_command))
    if outcome.status == "budget_reached":
        print(f"extend it with: exptrack sweep --resume {outcome.sweep_id} --time-budget 1h")
    elif outcome.status != "completed":
        print(f"resume with: exptrack sweep --resume {outcome.sweep_id}")
    from exptrack_core.run import get_tracker
    from exptrack_core.sweep.uploads import upload_hint

    hint = upload_hint(outcome.trials, get_tracker(store.root))  # said once, not per trial
    if hint:
        print(hint)


def _objectives_summary(outcome, store, trials, names, objectives) -> None:
    from exptrack_core.pareto import pareto_front
    from exptrack_core.run import get_tracker
    from exptrack_core.sweep.feed import objective_values

    tracker = get_tracker(store.root)
    goals = [o.get("goal", "minimize") for o in objectives]
    values = [objective_values(tracker, t.run_id, [o["name"] for o in objectives]) for t in trials]
    points = [[v[o["name"]] for o in objectives] if t.status in ("completed", "pruned") else [None]
              for t, v in zip(trials, values)]
    front = set(pareto_front(points, goals))
    rows = [[t.trial_id, t.status, *[redact_params(t.params).get(n) for n in names],
             *[v[o["name"]] for o in objectives], "*" if i in front else ""]
            for i, (t, v) in enumerate(zip(trials, values))]
    print()
    render_table(["trial", "status", *names, *[o["name"] for o in objectives], "pareto"], rows,
                 title=f"sweep {outcome.sweep_id}")
    goals_text = ", ".join(f"{o['name']} {o.get('goal')}" for o in objectives)
    print(f"\nPareto front ({goals_text}): "
          + (", ".join(trials[i].trial_id for i in sorted(front)) or "no trial"))


def cmd_sweep(args) -> int:
    backends = args.backend
    if backends:
        from exptrack_core.run import split_backends

        split_backends(backends)  # unknown names fail before anything starts
    from exptrack_core.sweep.config import trial_timeout

    timeout = trial_timeout(args.trial_timeout, "--trial-timeout")
    if args.resume:
        if args.config or args.method or args.dry_run or args.seeds or args.seed_key:
            raise ExptrackError("--resume continues a sweep as it was configured; leave out "
                                "--config, --method, --seeds, --seed-key and --dry-run")
        budget = time_budget(args.time_budget, "--time-budget")
        store, config, meta = api.reopen(args.dir, args.resume)
        fixed = api.secrets_for_resume(meta, args.set, args.params)
        if budget is not None:
            api.extend_budget(store, budget)
        settings = meta.get("settings", {})
        if settings.get("batch"):  # its points are the configs, not a grid of their values
            raise ExptrackError(f"sweep {args.resume} is a batch: run 'exptrack batch "
                                f"{settings['batch']}' again (completed experiments are skipped)")
        backends = backends or settings.get("backends")
        seed = settings.get("seed") if args.seed is None else args.seed
        executor = args.executor or settings.get("executor", "local")
        max_retries = settings.get("max_retries", 1) if args.max_retries is None else args.max_retries
        timeout = settings.get("trial_timeout") if timeout is None else timeout
        workers = settings.get("workers", 1) if args.workers is None else args.workers
        api.check_secret_executor(executor, fixed)
        options = _executor_options(args, executor) or settings.get("executor_options")
        runner_executor = api.executor_for(executor, workers, options=options)
        if args.trials is not None:
            config = api.with_overrides(config, run_cap=args.trials, allow_large=True)
    else:
        config = _config(args)
        from exptrack_core.sweep import setgrid

        fixed, points = setgrid.fixed_grid(args.set, args.params, args.seed)
        api.check_fixed(config, {**fixed, **{k: v for p in points for k, v in p.items()}})
        setgrid.check_grid_method(config, points)
        if args.experiment:  # named by the user: checked before anything else looks at the project
            from exptrack_core.names import check_name

            check_name("experiment", args.experiment)
        from exptrack_core.sweep import preflight

        if preflight.is_pipeline(config.to_dict(), {"executor": args.executor}):
            preflight.check_swept_keys(config.space.names, args.params)
            for first in api.suggestions(config, 1, args.seed, points):
                preflight.check_first_trial({**first, **fixed})
        if args.dry_run:
            _print_config(config)
            total = setgrid.total_trials(config, points)
            if points:
                print(f"-S grid: {len(points)} points over {setgrid.describe(points)}, each running "
                      f"the sweep's {config.method} search"
                      + (f": {total} trials in all" if total is not None else ""))
                for i, point in enumerate(points, 1):
                    print(f"  p{i}  " + "  ".join(f"{k}={fmt_cell(v)}" for k, v in point.items()))
            n = min(total or args.show, args.show)
            print(f"\nfirst {n} trial(s):")
            for i, params in enumerate(api.suggestions(config, n, args.seed, points), 1):
                shown = "  ".join(f"{k}={fmt_cell(v)}"
                                  for k, v in redact_params({**fixed, **params}).items())
                print(f"  t{i:04d}  {shown}")
            print("\ndry run: nothing was started")
            return 0
        seed, executor = args.seed, args.executor or "local"
        api.check_secret_executor(executor, fixed)
        workers = 1 if args.workers is None else args.workers
        max_retries = 1 if args.max_retries is None else args.max_retries
        api.check_settings(workers=workers, max_failures=args.max_failures,
                           max_retries=max_retries, seed=seed)
        api.suggestions(config, 0, seed)  # the strategy checks its options before anything is written
        options = _executor_options(args, executor)
        runner_executor = api.executor_for(executor, workers, options=options)
        store = api.start(config, dir=args.dir, experiment=args.experiment, fixed=fixed,
                          settings={"backends": backends, "seed": seed, "executor": executor,
                                    "workers": workers, "max_retries": max_retries,
                                    "trial_timeout": timeout, "executor_options": options,
                                    **({"grid": points} if points else {})},
                          argv=sys.argv)
        print(started_line(store, config), file=sys.stderr)
        for key in config.ignored:
            print(f"exptrack: note: ignoring {key!r} (meaningful only to the W&B server)",
                  file=sys.stderr)
    points = store.meta().get("settings", {}).get("points")  # a promoted sweep being resumed
    from exptrack_core.sweep.controller import FixedPoints

    outcome = api.execute(store, config, executor=runner_executor, workers=workers,
                          backends=backends, seed=seed, max_failures=args.max_failures,
                          max_retries=max_retries, trial_timeout=timeout, progress=not args.quiet,
                          strategy=FixedPoints(points) if points else None, fixed=fixed)
    _summary(outcome, store)
    return exit_code(outcome)


def _executor_options(args, executor: str) -> dict | None:
    """The ``--executor ray`` flags, refused with any other executor (they would do nothing)."""
    from exptrack_core.run import resolve_dir

    given = {k: getattr(args, k) for k in ("ray_address", "gpus_per_trial", "cpus_per_trial",
                                           "resources") if getattr(args, k, None) is not None}
    if given and executor != "ray":
        flag = "--" + next(iter(given)).replace("_", "-")
        raise ExptrackError(f"{flag} is an option of --executor ray, not of --executor {executor}")
    if executor != "ray":
        return None
    if args.workers is not None:
        given["max_concurrent"] = args.workers  # else as many trials as the cluster holds
    return {**given, "dir": str(resolve_dir(args.dir))}


def exit_code(outcome) -> int:
    """0 only when the sweep ended and some trial completed: a sweep that ran out of points or
    run_cap (or time) with every trial failed found nothing, and scripts must see that."""
    if outcome.status == "failed":
        print(f"exptrack: error: {outcome.message}", file=sys.stderr)
    elif outcome.status in ("completed", "budget_reached") and not any(
            t.status in ("completed", "pruned") for t in outcome.trials):
        counts = ", ".join(f"{v} {k}" for k, v in sorted(outcome.stats.items())) or "no trials"
        print(f"exptrack: error: sweep {outcome.sweep_id}: no trial completed ({counts})",
              file=sys.stderr)
        return EXIT["failed"]
    return EXIT.get(outcome.status, 1)


def sweep_rows(dir: Any) -> list[dict[str, Any]]:
    from exptrack_core.run import resolve_dir

    rows = []
    damaged: list = []
    sweeps = list_sweeps(resolve_dir(dir), damaged)
    for exc in damaged:
        print(f"exptrack: warning: skipped {exc}", file=sys.stderr)
    for meta in sweeps:
        store = SweepStore(resolve_dir(dir), meta["sweep_id"])
        status = meta["status"]
        if store.controller_alive():
            status = "running"  # resumed: sweep.json keeps how it last ended until it ends again
        elif status == "running":
            status = "stopped"  # its controller died: resume it
        config = meta.get("config", {})
        metric = primary_metric(config)
        goal = metric.get("goal", "maximize")
        counts: dict[str, int] = {}
        for t in meta["trials"]:
            counts[t.status] = counts.get(t.status, 0) + 1
        if config.get("seeds"):  # a configuration's mean over its seeds
            found = best_of_groups(meta["trials"], goal, config.get("seed_key", DEFAULT_SEED_KEY))
            best = found.value if found else None
        else:
            ranked = rank_trials(meta["trials"], goal)  # NaN and inf are never best
            best = ranked[0].value if ranked else None
        rows.append({"sweep_id": meta["sweep_id"], "name": meta.get("name"),
                     "method": config.get("method"), "status": status, "trials": counts,
                     "metric": metric.get("name"), "best": best})
    return rows


def cmd_sweeps(args) -> int:
    rows = sweep_rows(args.dir)
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
        return 0
    table = [[r["sweep_id"], r["name"], r["method"], r["status"].replace("_", " "),
              " ".join(f"{k}:{v}" for k, v in sorted(r["trials"].items())),
              f"{r['metric']}={fmt_cell(r['best'])}" if r["best"] is not None else ""] for r in rows]
    render_table(["sweep", "name", "method", "status", "trials", "best"], table)
    return 0


def cmd_promote(args) -> int:
    from exptrack_core.sweep.controller import FixedPoints

    source, config, meta = api.reopen(args.dir, args.sweep_id)
    metric = config.metric
    if metric is None:
        raise ExptrackError(f"sweep {args.sweep_id} has no metric to rank its trials by")
    if isinstance(args.top, bool) or args.top < 1:
        raise ExptrackError(f"invalid --top {args.top!r}: expected a positive integer")
    seeds = check_seeds(args.seeds, "--seeds") or config.seeds
    seed_key = check_seed_key(args.seed_key, "--seed-key") if args.seed_key else config.seed_key
    if config.seeds:  # a seeded sweep's best configurations: by their mean over seeds
        ranked = rank_groups(source.trials().values(), metric.goal, config.seed_key)
    else:
        ranked = rank_trials(source.trials().values(), metric.goal)
    if not ranked:
        raise ExptrackError(f"sweep {args.sweep_id} has no finished trial with {metric.name}")
    given = api.fixed_params(args.set, args.params)
    api.require_secrets(meta, given, f"exptrack promote {args.sweep_id}", args.params)
    if seeds and seed_key in given:
        raise ExptrackError(f"-S {seed_key}: --seeds {seeds} gives each configuration seeds "
                            f"0..{seeds - 1} of it; drop -S or --seeds")
    # a secret -S value is recorded redacted: given again, it reaches the trials, not the record
    secret = {k: v for k, v in given.items() if redact_params({k: v})[k] != v}
    points = [{k: v for k, v in {**t.params, **{k: v for k, v in given.items() if k not in secret}
                                 }.items() if not seeds or k != seed_key}
              for t in ranked[: args.top]]
    promoted = api.with_overrides(config, method="grid", run_cap=len(points) * (seeds or 1),
                                  seeds=seeds, seed_key=seed_key, allow_large=True)
    api.check_settings(workers=args.workers, max_failures=args.max_failures)
    store = api.start(promoted, dir=args.dir, experiment=meta.get("experiment"),
                      fixed=secret, settings={"promoted_from": args.sweep_id, "points": points},
                      argv=sys.argv)
    print(f"promoting the top {len(points)} configuration(s) of {args.sweep_id} as sweep {store.id}"
          + (f", {seeds} seeds each" if seeds else ""), file=sys.stderr)
    outcome = api.execute(store, promoted, executor=args.executor or "local", workers=args.workers,
                          backends=args.backend, max_failures=args.max_failures,
                          progress=not args.quiet, strategy=FixedPoints(points), fixed=secret)
    _summary(outcome, store)
    return exit_code(outcome)


__all__ = ["cmd_promote", "cmd_sweep", "cmd_sweeps", "sweep_rows"]
