"""``--executor ray`` on the three-node loopback cluster of the tests (tests/ray_cluster.py).

1. Per-trial overhead on trivial trials, one at a time: ``--executor ray`` vs ``--executor local``
   vs Ray Tune running a trivial function on the same cluster. Per trial = the slope
   ``(T_N - T_1) / (N - 1)``, so start-up (the controller, ``ray.init``, Tune's setup) is not
   spread over the trials.
2. Trials per second with ``--trials-many`` trivial trials, as many at once as the cluster holds.
3. Record latency: a trial logs a value every 50 ms; a watcher on the controller's ``metrics.csv``
   notes when each arrives (same clock: one machine); median and p99 of arrival - logged.
4. Controller cost per value: ``sync.apply_batch`` of 100,000 values into a local tracker, and
   the bytes a value takes in a pickled batch; the controller's CPU seconds during (3).
5. ``--only idle``: the controller's CPU share while trials run logging nothing (the pull loop).

Needs root (the workers run as another user). Run by hand:

    python benchmarks/ray_overhead.py --trials 20 --trials-many 200 --out /tmp/ray_overhead.json
    python benchmarks/ray_overhead.py --only idle    # 5. the controller's CPU for idle trials
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ray_cluster import RayCluster, cannot_run  # noqa: E402

TRIVIAL = "import exptrack\nrun = exptrack.init()\nrun.log({'value': 1.0})\nrun.finish()\n"
STREAM = """import time, exptrack
run = exptrack.init()
for step in range(run.params.get("n", 300)):
    run.log({"value": float(step)}, step=step)
    time.sleep(0.05)
run.finish()
"""
TUNE = """
import sys, time
import ray
from ray import tune

n, address, storage = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
ray.init(address=address, logging_level="ERROR", log_to_driver=False)

def trivial(config):
    tune.report({"value": 1.0})

tuner = tune.Tuner(tune.with_resources(trivial, {"cpu": 1}),
                   param_space={"x": tune.grid_search(list(range(n)))},
                   tune_config=tune.TuneConfig(max_concurrent_trials=1),
                   run_config=tune.RunConfig(storage_path=storage, verbose=0))
results = tuner.fit()
assert len(results) == n and not results.errors, results.errors
print(time.perf_counter() - t0)
"""


def sweep_yaml(program: str, n: int) -> str:
    return (f"program: {program}\nmethod: grid\nparameters:\n"
            f"  x: {{values: {json.dumps(list(range(n)))}}}\n")


def project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "trivial.py").write_text(TRIVIAL)
    (root / "stream.py").write_text(STREAM)
    return root


def exptrack_sweep(work: Path, n: int, *flags: str, program: str = "trivial.py") -> float:
    config = work / f"sweep-{n}.yaml"
    config.write_text(sweep_yaml(program, n))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "exptrack_core.cli", "sweep", "--config",
                           config.name, "--quiet", "--dir", str(work.parent / f"exp-{time.time_ns()}"), *flags],
                          cwd=work, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return took


def tune_run(work: Path, n: int, address: str) -> float:
    storage = Path(tempfile.mkdtemp(prefix="rt-tune-"))
    storage.chmod(0o1777)  # the workers' user writes its results there on its own node
    script = work / "tune_trivial.py"
    script.write_text(TUNE)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), str(n), address, str(storage)], cwd=work,
                          capture_output=True, text=True, env={**os.environ, "RAY_AIR_NEW_OUTPUT": "0"})
    took = time.perf_counter() - t0
    shutil.rmtree(storage, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return took


def slope(run, n: int) -> dict[str, float]:
    one, many = run(1), run(n)
    return {"t1_s": one, f"t{n}_s": many, "per_trial_s": (many - one) / (n - 1)}


def latency(work: Path, address: str, n: int = 300) -> dict[str, float]:
    (work / "latency.yaml").write_text(
        f"program: stream.py\nmethod: grid\nparameters:\n  n: {{values: [{n}]}}\n")
    root = work.parent / "exp-latency"  # outside the project: never shipped to the nodes
    arrivals: list[float] = []
    stop = threading.Event()

    def watch():
        seen = 0
        while not stop.is_set():
            for path in root.glob("*/*/metrics.csv"):
                lines = path.read_text().splitlines()[1:]
                now = time.time()
                for line in lines[seen:]:
                    arrivals.append(now - float(line.rsplit(",", 1)[1]))
                seen = max(seen, len(lines))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    proc = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--config",
                             "latency.yaml", "--quiet", "--dir", str(root), "--executor", "ray",
                             "--ray-address", address], cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    cpu = 0.0
    while proc.poll() is None:
        cpu = _cpu_s(proc.pid) or cpu
        time.sleep(0.2)
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.read()[-2000:])
    arrivals.sort()
    return {"values": len(arrivals), "median_s": statistics.median(arrivals),
            "p99_s": arrivals[int(0.99 * (len(arrivals) - 1))], "max_s": arrivals[-1],
            "controller_cpu_s": cpu, "trial_s": n * 0.05}


def idle_cost(work: Path, flags: tuple[str, ...], trials: int = 2, window: float = 10.0
              ) -> dict[str, float]:
    """The controller's CPU while ``trials`` trials run on the cluster logging nothing: the price
    of the pull loop alone (each trial's long-poll answers about twice a second)."""
    (work / "idle.py").write_text("import time, exptrack\nrun = exptrack.init()\n"
                                  f"time.sleep({window + 15})\nrun.finish()\n")
    (work / "idle.yaml").write_text(sweep_yaml("idle.py", trials))
    root = work.parent / f"exp-idle-{time.time_ns()}"
    proc = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--config",
                             "idle.yaml", "--quiet", "--dir", str(root), *flags], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and len([m for m in root.glob("*/*/meta.json")
                                       if '"running"' in m.read_text()]) < trials:
        time.sleep(0.2)
    time.sleep(2)  # every trial has answered its first pulls
    c0, t0 = _cpu_s(proc.pid), time.monotonic()
    time.sleep(window)
    c1, t1 = _cpu_s(proc.pid), time.monotonic()
    if c0 is None or c1 is None or proc.wait() != 0:
        raise RuntimeError(f"the idle sweep ended early: {proc.stderr.read()[-2000:]}")
    share = (c1 - c0) / (t1 - t0)
    return {"trials": trials, "controller_cpu_share": share, "per_trial_cpu_share": share / trials}


def _cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_value_cost(n: int = 100_000, names: int = 5) -> dict[str, float]:
    """What the controller spends to write one shipped value, and its size on the wire."""
    from exptrack_core.run import get_tracker
    from exptrack_plugins.ray.sync import apply_batch

    root = Path(tempfile.mkdtemp(prefix="rt-cost-"))
    tracker = get_tracker(root)
    run_id = tracker.create_run("bench")
    now = time.time()
    rows = [(i // names, f"m{i % names}", float(i), now + i // names) for i in range(n)]
    wire = len(pickle.dumps({"rows": rows, "files": []}, protocol=5))
    t0 = time.process_time()
    for start in range(0, n, 1000):  # batches as a pull brings them
        apply_batch(tracker, run_id, {"rows": rows[start:start + 1000], "files": []})
    cpu = time.process_time() - t0
    tracker.close(run_id)
    shutil.rmtree(root, ignore_errors=True)
    return {"values": n, "cpu_us_per_value": cpu / n * 1e6, "bytes_per_value": wire / n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--trials-many", type=int, default=200)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--only", choices=("idle",), help="only the idle pull-loop cost")
    args = ap.parse_args()
    why = cannot_run()
    if why:
        sys.exit(f"cannot run: {why}")
    out: dict = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="rt-bench-") as tmp:
        work = project(Path(tmp) / "project")
        out["cost"] = per_value_cost()
        print("cost", out["cost"], flush=True)
        cluster = RayCluster()
        try:
            address = cluster.address
            if args.only == "idle":
                ray_at = ("--executor", "ray", "--ray-address", address)
                out["idle"] = {
                    "local_2": idle_cost(work, ("--workers", "2"), 2),
                    "ray_2": idle_cost(work, ray_at, 2),
                    "ray_8": idle_cost(work, (*ray_at, "--cpus-per-trial", "0.25"), 8)}
                print(json.dumps(out, indent=1))
                return
            ray_flags = ("--executor", "ray", "--ray-address", address, "--workers", "1")
            n = args.trials
            out["local"] = slope(lambda k: exptrack_sweep(work, k, "--workers", "1"), n)
            print("local", out["local"], flush=True)
            out["ray"] = slope(lambda k: exptrack_sweep(work, k, *ray_flags), n)
            print("ray", out["ray"], flush=True)
            out["tune"] = slope(lambda k: tune_run(work, k, address), n)
            print("tune", out["tune"], flush=True)
            many = args.trials_many
            took = exptrack_sweep(work, many, "--executor", "ray", "--ray-address", address)
            out["many"] = {"trials": many, "wall_s": took, "trials_per_s": many / took}
            print("many", out["many"], flush=True)
            out["latency"] = latency(work, address)
            print("latency", out["latency"], flush=True)
        finally:
            cluster.stop()
    out["machine"]["load_after"] = os.getloadavg()
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
