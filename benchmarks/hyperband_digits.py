"""Hyperband against the full grid on the digits sweep: best val_acc found and epochs spent.

    python benchmarks/hyperband_digits.py [--epochs 9] [--workers 2] [--out results.json]

Runs the same grid twice with the project's real training stage (stages/train.py, built-in CNN on
scikit-learn's digits) in a scratch copy of the project: once in full, once with
``early_terminate: {type: hyperband, min_iter: 1, eta: 3}``. Target (issue 3): hyperband within 1
point of the grid's best val_acc using at most 40% of the grid's epochs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
GRIDS = {
    "small": {"train.lr": [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1],
              "train.weight_decay": [0.0, 0.0001]},
    "large": {"train.lr": [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1],
              "train.weight_decay": [0.0, 0.0001, 0.001], "train.optimizer": ["adamw", "sgd"]},
}
GRID = GRIDS["small"]


def project_copy(root: Path) -> Path:
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "stages", root / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "stages/prepare.py"], cwd=root, check=True, capture_output=True)
    return root


def sweep(root: Path, name: str, epochs: int, workers: int, hyperband: bool,
          method: str = "grid", seed: int = 0, eta: float = 3) -> dict:
    config = {"name": name, "method": method, "metric": {"name": "val_acc", "goal": "maximize"},
              "program": "stages/train.py",
              "parameters": {**{k: {"values": v} for k, v in GRID.items()},
                             "train.epochs": {"value": epochs}, "train.patience": {"value": 0}}}
    if hyperband:
        config["early_terminate"] = {"type": "hyperband", "min_iter": 1, "eta": eta}
    if method != "grid":  # as many trials as the grid has points
        config["run_cap"] = math.prod(len(v) for v in GRID.values())
    (root / f"{name}.yaml").write_text(yaml.safe_dump(config))
    start = time.time()
    subprocess.run([sys.executable, "-m", "exptrack_core.cli", "sweep", "--config", f"{name}.yaml",
                    "--workers", str(workers), "--quiet", "--experiment", name,
                    "--seed", str(seed)], cwd=root,
                   check=True, capture_output=True, env={**os.environ, "EXPTRACK_DIR": "experiments"})
    wall = time.time() - start
    out = subprocess.run([sys.executable, "-m", "exptrack_core.cli", "runs", name, "--json"],
                         cwd=root, check=True, capture_output=True, text=True).stdout
    runs = json.loads(out)
    best = max(r["val_acc"] for r in runs if r.get("val_acc") is not None)
    epochs_spent = 0
    for r in runs:
        full = json.loads(subprocess.run(
            [sys.executable, "-m", "exptrack_core.cli", "show", r["run_id"], "--json"], cwd=root,
            check=True, capture_output=True, text=True).stdout)
        epochs_spent += full["summary"]["val_acc"]["count"]
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {"best_val_acc": best, "epochs": epochs_spent, "trials": len(runs),
            "statuses": statuses, "wall_s": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--method", default="random",
                    help="search of the hyperband sweep over the same values (random: the grid's "
                         "points in a seeded order; grid: the grid's own order)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eta", type=float, default=3, help="hyperband's culling factor")
    ap.add_argument("--grid-json", help="reuse the full grid's figures from an earlier --out")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="small",
                    help="small: 6 lr x 2 weight decay; large: 6 lr x 3 weight decay x 2 optimizers")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    global GRID
    GRID = GRIDS[args.grid]
    with tempfile.TemporaryDirectory() as tmp:
        root = project_copy(Path(tmp))
        grid = (json.loads(Path(args.grid_json).read_text())["grid"] if args.grid_json else
                sweep(root, "grid", args.epochs, args.workers, hyperband=False))
        hb = sweep(root, "hyperband", args.epochs, args.workers, hyperband=True,
                   method=args.method, seed=args.seed, eta=args.eta)
    result = {"grid_size": args.grid, "grid": grid, "hyperband": hb, "hyperband_method": args.method, "seed": args.seed, "eta": args.eta,
              "val_acc_gap_points": round(100 * (grid["best_val_acc"] - hb["best_val_acc"]), 2),
              "epoch_ratio": round(hb["epochs"] / grid["epochs"], 3),
              "targets_met": {"within_1_point": grid["best_val_acc"] - hb["best_val_acc"] <= 0.01,
                              "at_most_40pct_epochs": hb["epochs"] <= 0.4 * grid["epochs"]}}
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
