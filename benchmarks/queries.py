"""Queries at scale: ``exptrack compare`` / ``best`` over 10,000 runs, against MLflow and DVC.

Generates ``--runs`` runs (20 params, 10 metrics, 50 steps each) in one experiment directory with
exptrack's own writer (the local tracker's API), and the same runs in an MLflow SQLite store.
Then times whole processes, each run once per round: ``exptrack compare --sort-by val_acc
--format csv``, ``exptrack best --metric val_acc``, and a Python process doing the same through
``mlflow.search_runs(order_by=["metrics.val_acc DESC"])`` (all runs, as CSV; and the best one).
For context, ``dvc exp show --csv`` on a git+DVC repo with ``--dvc-exps`` experiments. Wall time
and peak RSS are those of the measured process alone (``wait4``). Run by hand:

    python benchmarks/queries.py --repeat 5 --out /tmp/queries.json

The data is kept under ``--data`` (default /tmp/exptrack-bench-queries) and reused when its
manifest matches, so a second invocation skips the minutes of generation.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from common import (bench_env, check_repeat, finish, interleaved, machine, md_table, median, progress,
                    repeat_arg, timed_process, tool_path, verdict)

EXPERIMENT = "bench"
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "val_f1", "lr", "epoch_time",
           "grad_norm", "throughput", "gpu_mem")
CONTEXT = {"git": {"commit": "0" * 40, "branch": "main", "dirty": False},
           "command": ["python", "stages/train.py"], "python": "3.11.7", "hostname": "bench",
           "packages": {"torch": "2.14.1", "timm": "1.0.31"}, "seed": 42}


def synthetic_run(i: int, steps: int) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Run ``i``: 20 nested params and ``steps`` steps of 10 metrics, deterministic in ``i``."""
    r = random.Random(i)
    params = {
        "model": {"name": r.choice(["resnet18", "resnet34", "small_cnn", "convnext_atto"]),
                  "width": r.choice([16, 32, 64]), "depth": r.randint(2, 8),
                  "dropout": round(r.uniform(0, 0.5), 3), "act": r.choice(["relu", "gelu"])},
        "train": {"lr": 10 ** r.uniform(-5, -1), "batch_size": r.choice([64, 128, 256]),
                  "epochs": steps, "weight_decay": 10 ** r.uniform(-6, -2),
                  "optimizer": r.choice(["adamw", "sgd"]),
                  "scheduler": r.choice(["cosine", "step", "none"]), "warmup_epochs": r.randint(0, 3),
                  "momentum": 0.9, "label_smoothing": r.choice([0.0, 0.1]),
                  "mixup_alpha": r.choice([0.0, 0.2]), "seed": r.randint(0, 9),
                  "grad_clip": r.choice([0.0, 1.0])},
        "data": {"image_size": 32, "augment": r.choice([True, False]), "val_fraction": 0.15},
    }
    ceiling, speed = r.uniform(0.5, 0.99), r.uniform(0.05, 0.3)
    history = []
    for s in range(steps):
        acc = ceiling * (1 - (1 - speed) ** (s + 1)) + r.gauss(0, 0.005)
        history.append({"train_loss": 2.3 * (1 - acc) + 0.01, "train_acc": min(1.0, acc + 0.02),
                        "val_loss": 2.3 * (1 - acc) + 0.05, "val_acc": acc, "val_f1": acc * 0.98,
                        "lr": params["train"]["lr"] * (1 - s / steps), "epoch_time": r.uniform(5, 6),
                        "grad_norm": r.uniform(0.5, 2), "throughput": r.uniform(9e3, 1e4),
                        "gpu_mem": 1.5e9})
    return params, history


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# -- the data ---------------------------------------------------------------------------------------

def _mlflow_store(db: Path, artifacts: Path) -> str:
    """An MLflow store with the schema and experiment made by MLflow itself; returns its id."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    return client.create_experiment(EXPERIMENT, artifact_location=str(artifacts))


def generate(data: Path, n: int, steps: int) -> dict[str, Any]:
    """exptrack runs through ``LocalTracker`` (its own writer, as a training process would use it),
    and the same runs as MLflow rows. MLflow's own ``log_batch`` takes ~0.23 s per run here (40
    minutes for 10,000), so its rows are inserted in bulk with the values ``log_batch`` stores:
    ``metrics`` (every step), ``latest_metrics``, ``params``, ``runs``, the ``mlflow.runName`` tag."""
    from exptrack_plugins.local.tracker import LocalTracker

    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    tracker = LocalTracker(data / "exptrack")
    db = data / "mlflow.db"
    exp_id = int(_mlflow_store(db, data / "mlartifacts"))
    con = sqlite3.connect(db)
    began = time.perf_counter()
    write_s = 0.0
    rows: dict[str, list[tuple]] = {"runs": [], "tags": [], "params": [], "metrics": [],
                                    "latest_metrics": []}
    best = (None, -1.0)
    for i in range(n):
        params, history = synthetic_run(i, steps)
        t0 = time.perf_counter()
        run_id = tracker.create_run(EXPERIMENT, params=params, context=CONTEXT)
        ts = time.time() - 6 * steps  # as if each step took 6 s, all of them in the past
        for s, values in enumerate(history):
            tracker.log_metrics(run_id, values, s, ts + 6 * s)
        tracker.set_status(run_id, "completed")
        tracker.close(run_id)
        write_s += time.perf_counter() - t0
        if history[-1]["val_acc"] > best[1]:
            best = (run_id, history[-1]["val_acc"])
        uid, ms = uuid.uuid4().hex, int(ts * 1000)
        rows["runs"].append((uid, run_id, "UNKNOWN", "", "", "bench", "FINISHED", ms, ms + 6000 * steps,
                             "", "active", str(data / "mlartifacts" / uid), exp_id))
        rows["tags"].append(("mlflow.runName", run_id, uid))
        rows["params"] += [(k, str(v), uid) for k, v in _flat(params).items()]
        for s, values in enumerate(history):
            rows["metrics"] += [(k, v, ms + 6000 * s, uid, s, 0) for k, v in values.items()]
        rows["latest_metrics"] += [(k, v, ms + 6000 * (steps - 1), steps - 1, 0, uid)
                                   for k, v in history[-1].items()]
        if (i + 1) % 500 == 0 or i + 1 == n:
            _insert(con, rows)
            progress(f"generated {i + 1}/{n} runs ({time.perf_counter() - began:.0f} s)")
    con.close()
    manifest = {"runs": n, "steps": steps, "params": 20, "metrics": len(METRICS),
                "best_run": best[0], "best_val_acc": best[1],
                "exptrack_write_s_per_run": write_s / n,
                "generated_in_s": time.perf_counter() - began}
    (data / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _insert(con: sqlite3.Connection, rows: dict[str, list[tuple]]) -> None:
    sql = {
        "runs": "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
                "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
                "artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "tags": "INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)",
        "params": "INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)",
        "metrics": "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                   "VALUES (?,?,?,?,?,?)",
        "latest_metrics": "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, "
                          "run_uuid) VALUES (?,?,?,?,?,?)",
    }
    with con:
        for table, values in rows.items():
            con.executemany(sql[table], values)
            values.clear()


def ensure_data(data: Path, n: int, steps: int) -> dict[str, Any]:
    try:
        manifest = json.loads((data / "manifest.json").read_text())
        if manifest["runs"] == n and manifest["steps"] == steps:
            progress(f"reusing the {n} runs under {data}")
            return manifest
    except (OSError, ValueError, KeyError):
        pass
    progress(f"generating {n} runs under {data} (minutes; kept for the next invocation)")
    return generate(data, n, steps)


# -- DVC: a repo with experiments -------------------------------------------------------------------

DVC_STAGE = """stages:
  train:
    cmd: python train.py
    params:
      - params.yaml:
    metrics:
      - metrics.json:
          cache: false
"""
DVC_TRAIN = ("import json, yaml\np = yaml.safe_load(open('params.yaml'))\n"
             "json.dump({'val_acc': p['train']['seed'] / 1000, 'val_loss': 1.0}, "
             "open('metrics.json', 'w'))\n")


def _git(repo: Path, *args: str, **kw: Any) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          **kw).stdout


def ensure_dvc_repo(data: Path, n: int) -> Path:
    """A git+DVC repo with ``n`` experiments. Two are made by ``dvc exp run``; the others are the
    same kind of commit (parent = baseline, ref ``refs/exps/<base[:2]>/<base[2:]>/<name>``, files
    params.yaml, metrics.json, dvc.lock changed) written at once with ``git fast-import``: one
    ``dvc exp run`` of a trivial stage takes ~3.5 s here, 100 of them six minutes."""
    import yaml

    repo = data / f"dvc-{n}"
    if (repo / ".ready").exists():
        return repo
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "bench@example.com")
    _git(repo, "config", "user.name", "bench")
    subprocess.run(["dvc", "init", "-q"], cwd=repo, check=True, env=env)
    params0, _ = synthetic_run(0, 1)
    (repo / "params.yaml").write_text(yaml.safe_dump(params0, sort_keys=False))
    (repo / "dvc.yaml").write_text(DVC_STAGE)
    (repo / "train.py").write_text(DVC_TRAIN)
    subprocess.run(["dvc", "repro", "-q"], cwd=repo, check=True, env=env)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "baseline")
    for i in (1, 2):
        subprocess.run(["dvc", "exp", "run", "-q", "-S", f"train.seed={i}"], cwd=repo, check=True,
                       env=env)
    base = _git(repo, "rev-parse", "HEAD").strip()
    lock = (repo / "dvc.lock").read_text()
    stream = io.StringIO()
    for i in range(3, n + 1):
        params, history = synthetic_run(i, 1)
        params["train"]["seed"] = i
        files = {"params.yaml": yaml.safe_dump(params, sort_keys=False),
                 "metrics.json": json.dumps({"val_acc": history[-1]["val_acc"], "val_loss": 1.0}),
                 "dvc.lock": lock}
        stream.write(f"commit refs/exps/{base[:2]}/{base[2:]}/bench-exp-{i:03d}\n"
                     f"committer bench <bench@example.com> {int(time.time())} +0000\n")
        msg = f"dvc: commit experiment {uuid.uuid4().hex}"
        stream.write(f"data {len(msg)}\n{msg}\nfrom {base}\n")
        for name, text in files.items():
            raw = text.encode()
            stream.write(f"M 100644 inline {name}\ndata {len(raw)}\n{text}\n")
        stream.write("\n")
    _git(repo, "fast-import", "--quiet", input=stream.getvalue())
    (repo / ".ready").write_text("")
    return repo


# -- the measurement --------------------------------------------------------------------------------

MLFLOW_QUERY = """
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
best = sys.argv[2] == "best"
df = mlflow.search_runs(experiment_names=["bench"], order_by=["metrics.val_acc DESC"],
                        max_results=1 if best else 100000)
if best:
    row = df.iloc[0]
    print(row["tags.mlflow.runName"], row["metrics.val_acc"])
    print(row.filter(like="params.").to_string())
else:
    df.to_csv(sys.stdout, index=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--dvc-exps", type=int, default=100, help="0 skips dvc exp show")
    parser.add_argument("--data", type=Path, default=Path("/tmp/exptrack-bench-queries"))
    repeat_arg(parser)
    args = parser.parse_args()
    repeat = check_repeat(args.repeat)
    info = machine("pandas", "mlflow", "dvc")
    data = args.data / f"{args.runs}x{args.steps}"
    manifest = ensure_data(data, args.runs, args.steps)
    exptrack = tool_path("exptrack") or "exptrack"
    runs_dir = str(data / "exptrack")
    uri = f"sqlite:///{data / 'mlflow.db'}"
    env = bench_env(MLFLOW_ENABLE_ASYNC_LOGGING="false")

    # correctness first: every run listed, the same winner everywhere
    out = subprocess.run([exptrack, "compare", "--dir", runs_dir, "--sort-by", "val_acc",
                          "--format", "csv"], capture_output=True, text=True, check=True, env=env)
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    ml = subprocess.run([sys.executable, "-c", MLFLOW_QUERY, uri, "best"], capture_output=True,
                        text=True, check=True, env=env).stdout.split()
    checks = {"exptrack_rows": len(table), "exptrack_top": table[0]["run_id"],
              "mlflow_top": ml[0], "expected_top": manifest["best_run"]}
    progress(f"checks: {checks}")
    if not (len(table) == args.runs and table[0]["run_id"] == ml[0] == manifest["best_run"]):
        raise SystemExit(f"the tools disagree on the data: {checks}")

    cmds = {
        "exptrack compare": [exptrack, "compare", "--dir", runs_dir, "--sort-by", "val_acc",
                             "--format", "csv"],
        "exptrack best": [exptrack, "best", "--dir", runs_dir, "--metric", "val_acc"],
        "mlflow search_runs (all, csv)": [sys.executable, "-c", MLFLOW_QUERY, uri, "all"],
        "mlflow search_runs (best)": [sys.executable, "-c", MLFLOW_QUERY, uri, "best"],
    }
    cases = {name: (lambda argv=argv: timed_process(argv, env=env)) for name, argv in cmds.items()}
    if args.dvc_exps:
        repo = ensure_dvc_repo(args.data, args.dvc_exps)
        shown = subprocess.run(["dvc", "exp", "show", "--no-pager", "--csv"], cwd=repo, env=env,
                               capture_output=True, text=True, check=True).stdout
        n_exps = sum(1 for row in csv.DictReader(io.StringIO(shown)) if row["Experiment"])
        progress(f"dvc exp show lists {n_exps} experiments")
        checks["dvc_experiments"] = n_exps
        cases[f"dvc exp show ({n_exps} experiments)"] = lambda: timed_process(
            ["dvc", "exp", "show", "--no-pager", "--csv"], env=env, cwd=repo)
    results = interleaved(cases, repeat, progress, warmup=False)  # the checks above warmed up
    med = {n: {k: median(v) for k, v in r.items()} for n, r in results.items()}

    rows = []
    for name, m in med.items():
        rows.append([f"`{name}`", m["wall_s"], m["peak_rss_mib"]])
    md = (f"{args.runs:,} runs x (20 params, {len(METRICS)} metrics, {args.steps} steps) in one "
          f"experiment directory; {repeat} rounds, each command once per round; whole processes "
          f"(interpreter start and imports included), wall time and peak RSS of that process.\n"
          f"Data written by exptrack's LocalTracker at "
          f"{manifest['exptrack_write_s_per_run'] * 1000:.1f} ms/run; MLflow rows bulk-inserted "
          f"(its log_batch takes ~0.23 s/run here). Checks: {checks}.\n\n"
          + md_table(["command", "wall s (median)", "peak RSS MiB (median)"], rows))
    cmp_, best = med["exptrack compare"], med["exptrack best"]
    ml_all, ml_best = med["mlflow search_runs (all, csv)"], med["mlflow search_runs (best)"]
    md += (f"\n- exptrack compare < 2 s: {cmp_['wall_s']:.2f} s -> {verdict(cmp_['wall_s'] < 2)}; "
           f"< 500 MB: {cmp_['peak_rss_mib']:.0f} MiB -> {verdict(cmp_['peak_rss_mib'] < 500)}\n"
           f"- exptrack best < 2 s: {best['wall_s']:.2f} s -> {verdict(best['wall_s'] < 2)}; "
           f"< 500 MB: {best['peak_rss_mib']:.0f} MiB -> {verdict(best['peak_rss_mib'] < 500)}\n"
           f"- >= 5x faster than MLflow: compare {ml_all['wall_s'] / cmp_['wall_s']:.1f}x -> "
           f"{verdict(ml_all['wall_s'] / cmp_['wall_s'] >= 5)}; best "
           f"{ml_best['wall_s'] / best['wall_s']:.1f}x -> "
           f"{verdict(ml_best['wall_s'] / best['wall_s'] >= 5)}\n")
    finish(args, "Queries at scale", md, {"machine": info, "manifest": manifest, "checks": checks,
                                          "samples": results, "medians": med})


if __name__ == "__main__":
    main()
