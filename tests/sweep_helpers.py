"""A tiny trial program and a project around it, for sweep tests that run real processes."""

from __future__ import annotations

from pathlib import Path

TRAIN = '''
import os, sys, time, exptrack
params = exptrack.load_params()
t = params["train"]
if t.get("crash"):
    print("boom: this config cannot train", file=sys.stderr)
    sys.exit(3)
with exptrack.init(params=params) as run:
    for epoch in range(t["epochs"]):
        time.sleep(t.get("sleep", 0))
        acc = 1 - abs(t["lr"] - 0.01) * 10 - t["wd"] + epoch * 0.01
        run.log({"val_acc": acc, "epoch": epoch}, step=epoch)
        if run.should_stop():
            break
'''

PARAMS = '''
train:
  lr: 0.01
  wd: 0.0
  epochs: 3
  sleep: 0.0
  crash: false
sweep:
  name: toy
  method: grid
  metric: {name: val_acc, goal: maximize}
  program: train.py
  command: ["${interpreter}", "${program}"]
  parameters:
    train.lr: {values: [0.001, 0.01, 0.1]}
    train.wd: {values: [0.0, 0.1]}
'''


def make_project(root: Path, params: str = PARAMS) -> Path:
    (root / "train.py").write_text(TRAIN)
    (root / "params.yaml").write_text(params)
    return root
