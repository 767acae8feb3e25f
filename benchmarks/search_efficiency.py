"""Search efficiency: median regret after N trials on Branin and Hartmann6 (known optima).

Compares exptrack's ``random`` and ``bayes`` strategies (driven exactly as the sweep loop drives
them: ``suggest(history)`` with the whole history each time) with Optuna's TPE (and GP) used directly.
``bayes-resumed`` builds a fresh strategy object for every suggestion, as if the sweep were resumed
in a new process each trial: it measures the rebuild-from-history path on its own.
Run by hand, not by CI:

    OMP_NUM_THREADS=1 python benchmarks/search_efficiency.py --seeds 10 --trials 25,40,100

Prints a Markdown table of median regret (and suggestion times) to paste into RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import platform
import statistics
import time
from typing import Any, Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

# --- test functions -----------------------------------------------------------------------------

_H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
_H_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
_H_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(p: dict[str, float]) -> float:
    x = [p[f"x{i}"] for i in range(6)]
    return -sum(a * math.exp(-sum(_H_A[i][j] * (x[j] - _H_P[i][j] * 1e-4) ** 2 for j in range(6)))
                for i, a in enumerate(_H_ALPHA))


def branin(p: dict[str, float]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


FUNCTIONS: dict[str, tuple[Callable[[dict], float], dict, float]] = {
    "branin": (branin, {"x1": {"min": -5.0, "max": 10.0}, "x2": {"min": 0.0, "max": 15.0}},
               0.397887357729738),
    "hartmann6": (hartmann6, {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(6)},
                  -3.322368011391339),
}

# --- one run ------------------------------------------------------------------------------------


def run_exptrack(method: str, fn: str, seed: int, n: int, options: dict,
                 fresh: bool = False) -> tuple[list, list]:
    from exptrack_core.plugin.registry import build_registry
    import importlib.metadata as md

    f, params, _ = FUNCTIONS[fn]
    from exptrack_core.sweep.config import SweepConfig

    cfg = SweepConfig.parse({"method": method, "metric": {"name": "y", "goal": "minimize"},
                             "parameters": params, **({"bayes": options} if options else {})})
    eps = [e for e in md.entry_points(group="exptrack") if e.name == "search"]
    factory = build_registry(eps).get("strategy", method).factory
    strategy = factory(cfg.space, cfg.to_dict(), seed)
    history: list[dict[str, Any]] = []
    values, times = [], []
    for k in range(n):
        t0 = time.perf_counter()
        if fresh:
            strategy = factory(cfg.space, cfg.to_dict(), seed)
        point = strategy.suggest(history)
        times.append(time.perf_counter() - t0)
        y = f(point)
        values.append(y)
        history.append({"trial_id": str(k), "params": point, "status": "completed", "value": y})
    return values, times


def run_optuna(sampler: str, fn: str, seed: int, n: int) -> tuple[list, list]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    f, params, _ = FUNCTIONS[fn]
    make = {"tpe": optuna.samplers.TPESampler, "gp": optuna.samplers.GPSampler}[sampler]
    study = optuna.create_study(sampler=make(seed=seed))
    values, times = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        trial = study.ask()
        point = {k: trial.suggest_float(k, v["min"], v["max"]) for k, v in params.items()}
        times.append(time.perf_counter() - t0)
        y = f(point)
        study.tell(trial, y)
        values.append(y)
    return values, times


def one(job: tuple) -> tuple:
    method, fn, seed, n, options = job
    if method.startswith("optuna-"):
        values, times = run_optuna(method.split("-")[1], fn, seed, n)
    else:
        base = method.split(":")[0]
        values, times = run_exptrack(base.removesuffix("-resumed"), fn, seed, n, options,
                                     fresh=base.endswith("-resumed"))
    return job, values, times


# --- report -------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", default="25,40,100", help="checkpoints; the largest is run")
    ap.add_argument("--functions", default="branin,hartmann6")
    ap.add_argument("--methods", default="random,bayes,optuna-tpe",
                    help="random, bayes, bayes:tpe, bayes:gp, bayes-resumed, optuna-tpe, optuna-gp")
    ap.add_argument("--n-startup", type=int, default=None, help="bayes n_startup_trials")
    ap.add_argument("--trials-for", default="", help="per-function cap, e.g. branin=25")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    checkpoints = [int(c) for c in args.trials.split(",")]
    caps = dict(kv.split("=") for kv in args.trials_for.split(",") if kv)
    jobs = []
    for fn in args.functions.split(","):
        n = min(max(checkpoints), int(caps.get(fn, max(checkpoints))))
        for method in args.methods.split(","):
            options: dict = {}
            if method.startswith("bayes:"):
                options["sampler"] = method.split(":")[1]
            if method.startswith("bayes") and args.n_startup is not None:
                options["n_startup_trials"] = args.n_startup
            jobs += [(method, fn, seed, n, options) for seed in range(args.seeds)]
    started = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(one, jobs, chunksize=1)
    elapsed = time.perf_counter() - started
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"Python {platform.python_version()}; {args.workers} workers; {elapsed:.0f} s total\n")
    print("| function | method | " + " | ".join(f"regret@{c}" for c in checkpoints)
          + " | mean s/suggest (last 10) | max s/suggest |")
    print("|---|---|" + "---|" * len(checkpoints) + "---|---|")
    groups: dict[tuple, list] = {}
    for (method, fn, seed, n, _), values, times in results:
        groups.setdefault((fn, method), []).append((values, times))
    for (fn, method), runs in groups.items():
        optimum = FUNCTIONS[fn][2]
        cells = []
        for c in checkpoints:
            regrets = [min(v[:c]) - optimum for v, _ in runs if len(v) >= c]
            cells.append(f"{statistics.median(regrets):.3f}" if regrets else "-")
        tail = [t for _, ts in runs for t in ts[-10:]]
        peak = max(t for _, ts in runs for t in ts)
        print(f"| {fn} | {method} | " + " | ".join(cells)
              + f" | {statistics.mean(tail):.3f} | {peak:.3f} |")


if __name__ == "__main__":
    main()
