"""``exptrack batch DIR``: run a directory of named experiment configs, then compare them."""

from __future__ import annotations

import sys
from pathlib import Path

from exptrack_core.errors import ExptrackError


def _confirm(count: int, assume_yes: bool) -> bool:
    """Ask before a batch starts (it may run for hours); a script must say --yes."""
    if assume_yes:
        return True
    try:
        answer = input(f"run {count} experiment(s)? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _show_plan(entries, skipped) -> None:
    for e in entries:
        changes = "  ".join(f"{k}={v}" for k, v in e.overrides.items()) or "(params.yaml as is)"
        print(f"  run   {e.name:<20} {e.file.name:<24} {changes}")
        if e.description:
            print(f"        {'':<20} {e.description}")
    for e in skipped:
        print(f"  skip  {e.name:<20} {e.file.name:<24} already completed (--force runs it again)")


def cmd_batch(args) -> int:
    from exptrack_core.batch import BatchPoints, batch_config, completed, load_batch
    from exptrack_core.cli.sweeps import exit_code
    from exptrack_core.run import get_tracker
    from exptrack_core.sweep import lifecycle as api
    from exptrack_core.sweep import preflight

    api.check_settings(workers=args.workers)
    entries = load_batch(args.directory, args.params, args.filter)
    config = batch_config(entries, args.params, f"batch-{Path(args.directory).resolve().name}")
    if preflight.is_pipeline(config.to_dict()):
        for e in entries:  # the train stage's own checks, on each config, before anything runs
            try:
                preflight.check_first_trial(e.overrides)
            except ExptrackError as exc:
                raise ExptrackError(f"{str(e.file)!r}: {exc}") from None
    if not args.yes and not sys.stdin.isatty():  # refused before anything is printed or run
        raise ExptrackError(f"batch of {len(entries)} config(s) needs confirmation: pass --yes "
                            "(stdin is not a terminal)")
    tracker = get_tracker(args.dir)
    skipped = [] if args.force else [e for e in entries if completed(tracker, e.name)]
    todo = [e for e in entries if e not in skipped]
    print(f"batch {args.directory}: {len(todo)} to run, {len(skipped)} already completed")
    _show_plan(todo, skipped)
    if not todo:
        print("nothing to run")
        return 0
    if not _confirm(len(todo), args.yes):
        print("cancelled: nothing was started")
        return 1
    if len(todo) != len(entries):
        config = batch_config(todo, args.params, config.name)
    executor = api.executor_for("local", args.workers)
    store = api.start(config, dir=args.dir, experiment=api.experiment_name(config.name),
                      settings={"batch": str(args.directory), "executor": "local",
                                "workers": args.workers}, argv=sys.argv)
    print(f"sweep {store.id}: batch of {len(todo)} -> {store.dir}", file=sys.stderr)
    outcome = api.execute(store, config, executor=executor, workers=args.workers,
                          backends=args.backend, max_failures=len(todo) + 1,
                          progress=not args.quiet, strategy=BatchPoints(todo))
    print()
    try:
        _compare(store.id, args.dir)
    except ExptrackError as exc:  # e.g. every experiment failed before logging its metric
        print(f"exptrack: note: no comparison: {exc}", file=sys.stderr)
    print(f"\nbatch {store.id} {outcome.status}: " + ", ".join(
        f"{v} {k}" for k, v in sorted(outcome.stats.items())))
    return exit_code(outcome) or (1 if any(t.status != "completed" for t in outcome.trials) else 0)


def _compare(sweep_id: str, dir) -> None:
    """``exptrack compare --sweep ID``, parsed as a user's would be (its options stay its own)."""
    from exptrack_core.cli.commands import build_parser

    argv = ["compare", "--sweep", sweep_id]
    if dir:
        argv += ["--dir", str(dir)]
    args = build_parser().parse_args(argv)
    args.func(args)


__all__ = ["cmd_batch"]
