"""Logging cost: microseconds per scalar value in the training thread, exptrack against its anchors.

One run of ``--steps`` steps x 5 scalars with 10 params, for each of: exptrack's local tracker;
exptrack with local + tensorboard + wandb (the backends are fed by a background thread: the loop
time is the training thread's, the time ``finish()`` takes to drain is reported apart);
``torch.utils.tensorboard.SummaryWriter.add_scalar``; ``wandb.log`` offline; MLflow
``log_metrics`` on a SQLite store; DVCLive ``log_metric`` + ``next_step``; and the floor, a plain
buffered CSV append flushed per step. Every tool runs once per round, rounds repeated, in one
process. Run by hand:

    python benchmarks/logging_cost.py --repeat 5 --out /tmp/logging_cost.json
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from common import (check_repeat, finish, interleaved, machine, md_table, median, progress,
                    repeat_arg, verdict)

METRICS = ("loss", "acc", "lr", "grad_norm", "throughput")
PARAMS = {f"p{i}": (0.1 * i if i % 2 else f"v{i}") for i in range(10)}


def values(step: int) -> dict[str, float]:
    x = float(step)
    return {"loss": 1.0 / (1.0 + x), "acc": x / (x + 10.0), "lr": 3e-4, "grad_norm": 1.0 + x % 7,
            "throughput": 1000.0 + x}


class Case:
    """One tool: ``setup`` (not timed in the loop), ``step``, ``close``; timings per phase.

    ``gpu_wait_s`` > 0 sleeps that long between steps (the GIL is free, as while a training step
    waits on the GPU) and times only the logging calls."""

    gpu_wait_s = 0.0

    def __init__(self, root: Path, steps: int):
        self.root, self.steps = root, steps

    def __call__(self) -> dict[str, float]:
        work = Path(tempfile.mkdtemp(dir=self.root))
        try:
            t0 = time.perf_counter()
            self.setup(work)
            t1 = time.perf_counter()
            step, logging = self.step, 0.0
            if self.gpu_wait_s:
                clock, wait = time.perf_counter, self.gpu_wait_s
                for i in range(self.steps):
                    time.sleep(wait)
                    began = clock()
                    step(i, values(i))
                    logging += clock() - began
            else:
                for i in range(self.steps):
                    step(i, values(i))
            t2 = time.perf_counter()
            self.close()
            t3 = time.perf_counter()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        n = self.steps * len(METRICS)
        return {"setup_s": t1 - t0, "loop_us_per_value": (logging or (t2 - t1)) / n * 1e6,
                "close_s": t3 - t2}

    def setup(self, work: Path) -> None:
        raise NotImplementedError

    def step(self, i: int, vals: dict[str, float]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class CsvFloor(Case):
    def setup(self, work):
        self.f = open(work / "metrics.csv", "a", buffering=1 << 16)

    def step(self, i, vals):
        f = self.f
        for name, v in vals.items():
            f.write(f"{i},{name},{v!r},{time.time():.6f}\n")
        f.flush()

    def close(self):
        self.f.close()


class Exptrack(Case):
    backends = "local"

    def setup(self, work):
        import exptrack

        self.run = exptrack.init("bench", params=PARAMS, backends=self.backends, dir=work / "runs",
                                 snapshot_params=None,
                                 backend_options={"wandb": {"mode": "offline"}})

    def step(self, i, vals):
        self.run.log(vals, step=i)

    def close(self):
        self.run.finish()
        if self.run.backend_failures:
            raise RuntimeError(f"backends failed: {self.run.backend_failures}")


class ExptrackFanout(Exptrack):
    backends = "local,tensorboard,wandb"


class ExptrackGpuWait(Exptrack):
    gpu_wait_s = 0.001


class ExptrackFanoutGpuWait(ExptrackFanout):
    gpu_wait_s = 0.001


class SummaryWriterCase(Case):
    def setup(self, work):
        from torch.utils.tensorboard import SummaryWriter

        self.w = SummaryWriter(log_dir=str(work / "tb"))
        self.w.add_text("params", repr(PARAMS))  # add_hparams needs final metrics; text is common

    def step(self, i, vals):
        add = self.w.add_scalar
        for name, v in vals.items():
            add(name, v, i)

    def close(self):
        self.w.close()


class WandbCase(Case):
    def setup(self, work):
        import wandb

        self.wandb = wandb
        self.run = wandb.init(project="bench", dir=str(work), mode="offline", config=PARAMS,
                              settings=wandb.Settings(silent=True, console="off"))

    def step(self, i, vals):
        self.run.log(vals, step=i)

    def close(self):
        self.run.finish()


class MlflowCase(Case):
    """One SQLite store for every round, created (schema migrations: seconds) in the warm-up,
    as a user's store exists before their training starts."""

    def setup(self, work):
        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(f"sqlite:///{self.root / 'mlflow.db'}")
        mlflow.set_experiment("bench")
        mlflow.start_run()
        mlflow.log_params(PARAMS)

    def step(self, i, vals):
        self.mlflow.log_metrics(vals, step=i)

    def close(self):
        self.mlflow.end_run()


class DvcliveCase(Case):
    def setup(self, work):
        from dvclive import Live

        self.live = Live(dir=str(work / "dvclive"), save_dvc_exp=False, dvcyaml=False)
        self.live.log_params(PARAMS)

    def step(self, i, vals):
        live = self.live
        for name, v in vals.items():
            live.log_metric(name, v)
        live.next_step()

    def close(self):
        self.live.end()


CASES: dict[str, tuple[str, type[Case]]] = {
    "csv": ("plain CSV append, flushed per step (floor)", CsvFloor),
    "exptrack": ("exptrack local (`run.log`)", Exptrack),
    "exptrack_fanout": ("exptrack local+tensorboard+wandb (training thread)", ExptrackFanout),
    "exptrack_wait": ("exptrack local, 1 ms GIL-free wait per step", ExptrackGpuWait),
    "exptrack_fanout_wait": ("exptrack local+tensorboard+wandb, 1 ms GIL-free wait per step",
                             ExptrackFanoutGpuWait),
    "summarywriter": ("torch SummaryWriter.add_scalar", SummaryWriterCase),
    "wandb": ("wandb.log, offline", WandbCase),
    "mlflow": ("mlflow.log_metrics, SQLite store", MlflowCase),
    "dvclive": ("DVCLive log_metric + next_step", DvcliveCase),
}
SLOW = {"mlflow": "MLflow", "dvclive": "DVCLive"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(CASES))
    parser.add_argument("--slow-steps", type=int, default=400,
                        help="steps for the tools that take milliseconds per step (MLflow, "
                             "DVCLive), to keep the run short; the cost is per value either way")
    repeat_arg(parser)
    args = parser.parse_args()
    repeat = check_repeat(args.repeat)
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    names = [n.strip() for n in args.only.split(",")] if args.only else list(CASES)
    root = Path(tempfile.mkdtemp(prefix="exptrack-logbench-"))
    cases: dict[str, Callable[[], dict[str, float]]] = {}
    for n in names:
        steps = min(args.slow_steps, args.steps) if n in SLOW else args.steps
        cases[n] = CASES[n][1](root, steps)
    info = machine("torch", "tensorboard", "wandb", "mlflow", "dvclive")
    for case in cases.values():  # warm imports and first-time costs outside the measurement
        case.steps, saved = 20, case.steps
        case()
        case.steps = saved
    results = interleaved(cases, repeat, progress)
    shutil.rmtree(root, ignore_errors=True)

    med = {n: {k: median(v) for k, v in r.items()} for n, r in results.items()}
    base = med.get("exptrack", {}).get("loop_us_per_value")
    rows = []
    for n in names:
        m = med[n]
        us = m["loop_us_per_value"]
        rows.append([CASES[n][0], us, f"{us / base:.2f}x" if base else "", m["setup_s"],
                     m["close_s"]])
    md = md_table(["tool", "us per value (loop, median)", "vs exptrack local", "setup s",
                   "finish/close s"], rows)
    targets = []
    if base is not None:
        targets.append(f"- exptrack local <= 10 us/value: {base:.2f} us -> {verdict(base <= 10)}")
        if "summarywriter" in med:
            sw = med["summarywriter"]["loop_us_per_value"]
            targets.append(f"- exptrack local >= 10x faster than SummaryWriter: {sw / base:.1f}x -> "
                           f"{verdict(sw / base >= 10)}")
        if "exptrack_fanout" in med:
            fo = med["exptrack_fanout"]["loop_us_per_value"]
            targets.append(f"- exptrack with tensorboard+wandb <= 2x exptrack local (training "
                           f"thread, logging in a tight loop): {fo / base:.2f}x -> "
                           f"{verdict(fo / base <= 2)}")
        if "exptrack_fanout_wait" in med and "exptrack_wait" in med:
            a, b = med["exptrack_fanout_wait"]["loop_us_per_value"], med["exptrack_wait"][
                "loop_us_per_value"]
            targets.append(f"- the same with 1 ms of GIL-free work per step (a training step "
                           f"waiting on the GPU): {a / b:.2f}x -> {verdict(a / b <= 2)}")
    steps_note = (f"{args.steps} steps x {len(METRICS)} scalars, {len(PARAMS)} params, "
                  f"{repeat} rounds, every tool once per round in one process")
    slow = [SLOW[n] for n in names if n in SLOW]
    if slow and args.slow_steps < args.steps:
        steps_note += f" ({' and '.join(slow)}: {args.slow_steps} steps, they take ms per step)"
    md = f"{steps_note}.\n\n{md}\n" + "\n".join(targets) + "\n"
    finish(args, "Logging cost", md, {"machine": info, "steps": args.steps, "repeat": repeat,
                                      "samples": results, "medians": med})


if __name__ == "__main__":
    main()
