"""Sweep scaling: ``run.should_stop()`` and the controller's overhead per trial, at 10 to 10,000
trials recorded in the sweep.

The trials' records are generated, not trained: for each size N, one sweep (random search over
``lr``, hyperband early stopping on ``val_acc``) whose journal holds N ended trials, each a real run of the local tracker (written through ``LocalTracker``) with a 10-step
curve. Cached under ``--work`` and reused while N matches.

- ``should_stop``: a trial process joins a new trial of that sweep (``exptrack.init()`` with the
  ``EXPTRACK_*`` variables the controller sets) and, at each of ``--calls`` steps, logs ``val_acc``
  and asks ``run.should_stop()`` (its value is the best, so it is never stopped and every call
  decides). The first call starts from the controller's snapshot (``stopper.snapshot``, brought
  up to date first, as this version's controller leaves it) or, in a version without one,
  replays the journal and reads the ended trials' curves (``curves.jsonl``); "per call" is the
  median of the rest. ``--stopper median`` switches the sweep's stopper (same records).
- controller overhead: the sweep is resumed in-process with the inline executor and an objective
  that returns at once, for K = ``--new-trials`` more trials and for none; per trial is
  ``(T_K - T_0) / K``: what the controller adds to each trial (its run, journal events, the
  strategy's history, settling), without its one-time start (lock, replaying the journal).

``--before DIR`` times a checkout of an earlier exptrack the same way (its modules first on
``PYTHONPATH``; ``exptrack_plugins`` a link to its ``plugins``), in the same rounds. Run by hand:

    git archive main | tar -x -C /tmp/before && ln -s plugins /tmp/before/exptrack_plugins
    python benchmarks/sweep_scaling.py --trials 10,100,1000,10000 --repeat 5 --before /tmp/before --out /tmp/sweep_scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import (bench_env, check_repeat, finish, machine, md_table, median, progress,
                    repeat_arg, verdict)

STEPS = 10
CONFIG = {"name": "scale", "method": "random", "run_cap": 100000,
          "metric": {"name": "val_acc", "goal": "maximize"},
          "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3},
          "parameters": {"lr": {"min": 0.0001, "max": 0.1}}}
STOPPERS = {"hyperband": {"type": "hyperband", "min_iter": 1, "eta": 3},
            "median": {"type": "median", "min_trials": 5}}


def use_stopper(root: Path, sweep_id: str, name: str) -> None:
    """The records do not depend on the stopper: the sweep's config is switched to ``name``'s."""
    from exptrack_core.files import write_json
    from exptrack_core.sweep.journal import SweepStore

    store = SweepStore(root / "experiments", sweep_id)
    meta = store.meta()
    if meta["config"]["early_terminate"] != STOPPERS[name]:
        meta["config"]["early_terminate"] = STOPPERS[name]
        write_json(store.dir / "sweep.json", meta)


# -- generating the records --------------------------------------------------------------------
def generate(root: Path, n: int) -> str:
    """A sweep of ``n`` ended trials under ``root``; its id."""
    marker = root / "generated.json"
    if marker.exists() and json.loads(marker.read_text()).get("n") == n:
        return json.loads(marker.read_text())["sweep_id"]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    from exptrack_core.sweep.journal import SweepStore
    from exptrack_plugins.local.tracker import LocalTracker

    experiments = root / "experiments"
    store = SweepStore.create(experiments, name="scale", experiment="scale", config=CONFIG)
    tracker = LocalTracker(experiments)
    rng = random.Random(n)
    events, now = [], time.time()
    for i in range(n):
        trial_id = f"t{i + 1:04d}"
        lr = rng.uniform(0.0001, 0.1)
        run_id = tracker.create_run("scale", params={"lr": lr}, sweep_id=store.id, trial_id=trial_id)
        top = rng.uniform(0.5, 0.9)
        for step in range(STEPS):
            tracker.log_metrics(run_id, {"val_acc": top * (step + 1) / STEPS}, step, now + step)
        events.append({"event": "start", "trial_id": trial_id, "run_id": run_id,
                       "params": {"lr": lr}, "attempt": 1, "time": now})
        events.append({"event": "launch", "trial_id": trial_id, "status": "running",
                       "process": None, "time": now})
        tracker.set_status(run_id, "completed")
        events.append({"event": "end", "trial_id": trial_id, "status": "completed",
                       "value": top, "note": None, "time": now + STEPS})
        tracker.close(run_id)
        if i % 1000 == 999:
            progress(f"  {i + 1} of {n} trials generated")
    with open(store.dir / "trials.jsonl", "a") as f:
        f.write("".join(json.dumps(e) + "\n" for e in events))
    marker.write_text(json.dumps({"n": n, "sweep_id": store.id}))
    return store.id


def write_ended_curves(root: Path, sweep_id: str) -> None:
    """What the controller appends as each trial ends (``curves.jsonl``: its final curve), for
    the ended trials with no line there (generated, or ended by a version predating the file);
    a checkout that predates the file never reads it."""
    from exptrack_core.sweep.curves import TrialCurves
    from exptrack_core.sweep.endedcurves import EndedCurveLog
    from exptrack_core.sweep.journal import SweepStore
    from exptrack_plugins.local.tracker import LocalTracker

    store = SweepStore(root / "experiments", sweep_id)
    curves, log = TrialCurves(LocalTracker(root / "experiments"), "val_acc"), EndedCurveLog(store.dir)
    have = set(log.read_new("val_acc"))
    for t in store.trials().values():
        if not t.in_flight and t.trial_id not in have:
            curves.track(t.trial_id, t.run_id)
            log.append(t.trial_id, "val_acc", curves.finish(t.trial_id))


# -- the measurements, in a child process (so --before can import another exptrack) ------------
def measure(root: Path, sweep_id: str, calls: int, new_trials: int) -> dict:
    import exptrack
    from exptrack_core.sweep.config import SweepConfig
    from exptrack_core.sweep.controller import SweepRunner
    from exptrack_core.sweep.journal import SweepStore
    from exptrack_core.sweep.lifecycle import with_overrides
    from exptrack_plugins.local.tracker import LocalTracker

    experiments = root / "experiments"
    store = SweepStore(experiments, sweep_id)
    try:  # the snapshot a controller of this version leaves as it stops (none before it existed)
        from exptrack_core.sweep.snapshot import SnapshotWriter
    except ImportError:
        pass
    else:  # (the other version's resumes in the rounds before ended trials it never saw)
        SnapshotWriter.start(store, store.meta()["config"])
    # one trial process asking for verdicts
    trial_id = f"m{os.getpid()}"
    run_id = LocalTracker(experiments).create_run("scale", params={"lr": 0.01}, sweep_id=sweep_id,
                                                  trial_id=trial_id)
    with open(store.dir / "trials.jsonl", "a") as f:
        f.write(json.dumps({"event": "start", "trial_id": trial_id, "run_id": run_id,
                            "params": {"lr": 0.01}, "time": time.time()}) + "\n")
    os.environ.update(EXPTRACK_DIR=str(experiments), EXPTRACK_RUN_ID=run_id,
                      EXPTRACK_SWEEP_ID=sweep_id, EXPTRACK_TRIAL_ID=trial_id,
                      EXPTRACK_EXPERIMENT="scale")
    run = exptrack.init(backends="local")
    times = []
    for step in range(calls):
        run.log({"val_acc": 0.99}, step=step)
        t0 = time.perf_counter()
        stopped = run.should_stop()
        times.append((time.perf_counter() - t0) * 1000)
        assert not stopped, "the best trial was stopped: the measurement would stop deciding"
    from_snapshot = getattr(run._stopper, "from_snapshot", None)
    run.finish()
    # its end as a controller records it: its final curve in curves.jsonl, then its end event
    from exptrack_core.sweep.curves import TrialCurves
    from exptrack_core.sweep.endedcurves import EndedCurveLog

    curves = TrialCurves(LocalTracker(experiments), "val_acc")
    curves.track(trial_id, run_id)
    EndedCurveLog(store.dir).append(trial_id, "val_acc", curves.finish(trial_id))
    with open(store.dir / "trials.jsonl", "a") as f:
        f.write(json.dumps({"event": "end", "trial_id": trial_id, "status": "completed",
                            "value": 0.99, "note": None, "time": time.time()}) + "\n")
    for k in ("EXPTRACK_RUN_ID", "EXPTRACK_SWEEP_ID", "EXPTRACK_TRIAL_ID"):
        os.environ.pop(k)

    # the controller, resumed for K more trials and for none
    def resume(more: int) -> float:
        store = SweepStore(experiments, sweep_id)
        config = SweepConfig.parse(store.meta()["config"], allow_large=True)
        done = sum(1 for t in store.trials().values() if t.status != "killed")
        config = with_overrides(config, run_cap=done + more, allow_large=True)
        runner = SweepRunner(config, store, executor="inline", objective=lambda params: 0.5,
                             seed=0, max_failures=10 ** 6)
        t0 = time.perf_counter()
        runner.run()
        return time.perf_counter() - t0

    t_none = resume(0)
    t_more = resume(new_trials)
    return {"first_ms": times[0], "per_call_ms": median(times[1:]), "calls_ms": times, "from_snapshot": from_snapshot,
            "resume_none_s": t_none, "resume_more_s": t_more,
            "overhead_ms_per_trial": (t_more - t_none) / new_trials * 1000}


def child(variant: str, checkout: Path | None, root: Path, sweep_id: str, calls: int,
          new_trials: int) -> dict:
    env = bench_env()
    env.pop("PYTHONPATH", None)
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    out = subprocess.run([sys.executable, __file__, "--child", str(root), sweep_id, str(calls),
                          str(new_trials)], env=env, capture_output=True, text=True, cwd=root)
    if out.returncode != 0:
        raise SystemExit(f"{variant} at {root.name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        root, sweep_id, calls, new = sys.argv[2:6]
        print(json.dumps(measure(Path(root), sweep_id, int(calls), int(new))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", default="10,100,1000,10000",
                        help="sizes of the sweep, comma-separated (trials recorded)")
    parser.add_argument("--calls", type=int, default=20, help="should_stop calls per measurement")
    parser.add_argument("--new-trials", type=int, default=50,
                        help="trials the resumed controller runs per measurement")
    parser.add_argument("--before", type=Path, help="a checkout of an earlier exptrack to compare")
    parser.add_argument("--after", type=Path,
                        help="a checkout to time as 'after' (default: the installed exptrack)")
    parser.add_argument("--stopper", choices=sorted(STOPPERS), default="hyperband",
                        help="the sweep's early stopper")
    parser.add_argument("--work", type=Path, default=Path("/tmp/exptrack-bench-sweep-scaling"))
    repeat_arg(parser)
    args = parser.parse_args()
    repeat = check_repeat(args.repeat)
    sizes = [int(s) for s in args.trials.split(",")]
    variants = ["after"] + (["before"] if args.before else [])
    info = machine()
    sweeps = {}
    for n in sizes:
        progress(f"records of {n} trials")
        sweeps[n] = generate(args.work / str(n), n)
        write_ended_curves(args.work / str(n), sweeps[n])
        use_stopper(args.work / str(n), sweeps[n], args.stopper)
    samples: dict[str, dict[int, list[dict]]] = {v: {n: [] for n in sizes} for v in variants}
    for r in range(repeat):
        for n in sizes:
            for v in variants:
                progress(f"round {r + 1}/{repeat}: {v} at {n} trials")
                checkout = args.before if v == "before" else args.after
                samples[v][n].append(child(v, checkout, args.work / str(n), sweeps[n],
                                           args.calls, args.new_trials))

    def fig(v: str, n: int, key: str) -> float | None:
        return median(s[key] for s in samples[v][n]) if v in samples else None

    def pair(v1: float | None, v2: float | None) -> str:
        return "-" if v1 is None or v2 is None or v2 == 0 else f"{v1 / v2:.1f}x"

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3g}"

    rows = []
    for n in sizes:
        rows.append([f"{n:,}", num(fig("before", n, "per_call_ms")), num(fig("after", n, "per_call_ms")),
                     pair(fig("before", n, "per_call_ms"), fig("after", n, "per_call_ms")),
                     num(fig("before", n, "first_ms")), num(fig("after", n, "first_ms")),
                     pair(fig("before", n, "first_ms"), fig("after", n, "first_ms")),
                     num(fig("before", n, "overhead_ms_per_trial")),
                     num(fig("after", n, "overhead_ms_per_trial")),
                     pair(fig("before", n, "overhead_ms_per_trial"),
                          fig("after", n, "overhead_ms_per_trial"))])
    table = md_table(["trials recorded", "should_stop ms/call before", "after", "before/after",
                      "first call ms before", "first call ms after", "before/after",
                      "controller ms/trial before", "after", "before/after"], rows)
    big, small = max(sizes), min(sizes)
    per_call, first = fig("after", big, "per_call_ms"), fig("after", big, "first_ms")
    flat = fig("after", big, "overhead_ms_per_trial") / fig("after", small, "overhead_ms_per_trial")
    targets = (f"- should_stop <= 1 ms per call with {big:,} trials recorded: {per_call:.3g} ms -> "
               f"{verdict(per_call <= 1.0)}\n"
               f"- the same for a trial's first call: {first:.3g} ms -> {verdict(first <= 1.0)}\n"
               f"- controller overhead per trial flat from {small:,} to {big:,} trials: "
               f"{flat:.2f}x -> {verdict(flat <= 1.5)} (flat: within 1.5x)\n")
    text = (f"{repeat} rounds, each size and version once per round (a child process each); "
            f"{args.stopper} {json.dumps(STOPPERS[args.stopper])} on val_acc, {STEPS}-step curves, {args.calls} "
            f"should_stop calls, {args.new_trials} new trials per resume (inline executor).\n\n"
            f"{table}\n{targets}")
    finish(args, "Sweep scaling", text, {"machine": info, "samples": samples})


if __name__ == "__main__":
    main()
