"""Training throughput: images/s of the stages' training loop against a plain PyTorch loop.

Same model (timm resnet18 built by ``stages.models.build_model``, 10 classes), 32x32 inputs,
batch 256, AdamW with the params.yaml defaults (lr 0.003, weight decay 1e-4, grad clip 1.0), and on
CUDA bf16 autocast + channels_last + pinned non-blocking copies, on synthetic data. Three loops:

- ``plain``: a hand-written loop (zero_grad, forward under autocast, cross-entropy, backward, clip,
  step) over a pool of pre-made batches;
- ``stages``: ``stages.loop.train_one_epoch`` (with ``prepare_model``, ``Objective``,
  ``build_optimizer``, ``LrSchedule``) over the same batches: the loop's own cost;
- ``stages+loader``: the same, fed by ``stages.data.Prepared(...).loader`` (a DataLoader over a
  TensorDataset, shuffled, pinned), as ``stages/train.py`` runs it.

Each loop runs a warm-up epoch, then ``--repeat`` timed epochs of ``--steps`` steps, rounds
interleaved; images/s is the median. On CUDA, GPU utilisation is sampled with nvidia-smi while each
loop is timed. One command, on CPU or GPU:

    python benchmarks/gpu_training.py --steps 100 --device auto --out /tmp/gpu_training.json
    python benchmarks/gpu_training.py --steps 3 --warmup 1 --device cpu   # a quick CPU check
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: ``stages``

from common import (check_repeat, finish, machine, md_table, median, progress,  # noqa: E402
                    repeat_arg)

NUM_CLASSES, SIZE = 10, 32
CFG = {"epochs": 1, "batch_size": 256, "lr": 0.003, "weight_decay": 0.0001, "optimizer": "adamw",
       "scheduler": "cosine", "warmup_epochs": 0, "step_size": 10, "gamma": 0.1,
       "plateau_patience": 2, "momentum": 0.9, "grad_clip": 1.0, "label_smoothing": 0.0,
       "loss": "cross_entropy", "focal_gamma": 2.0, "class_weights": "none", "mixup_alpha": 0.0,
       "amp": True}


class GpuSampler:
    """``nvidia-smi`` utilisation samples (every 100 ms) while the block runs; nothing without CUDA."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and shutil.which("nvidia-smi") is not None
        self.samples: list[tuple[float, float]] = []

    def __enter__(self):
        if self.enabled:
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                 "--format=csv,noheader,nounits", "-lms", "100", "-i", "0"],
                stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.proc.terminate()
            out, _ = self.proc.communicate()
            for line in out.splitlines():
                try:
                    util, mem = (float(v) for v in line.split(","))
                    self.samples.append((util, mem))
                except ValueError:
                    continue


def synthetic_batches(n: int, batch: int, device):
    import torch

    g = torch.Generator().manual_seed(0)
    pool = []
    for _ in range(n):
        x = torch.randn(batch, 3, SIZE, SIZE, generator=g)
        y = torch.randint(0, NUM_CLASSES, (batch,), generator=g)
        if device.type == "cuda":
            x, y = x.pin_memory(), y.pin_memory()
        pool.append((x, y))
    return pool


def synthetic_prepared(root: Path, n_images: int) -> Path:
    """A dataset file in the prepare stage's format, for ``stages.data.Prepared``."""
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = {}
    for name, n in (("train", n_images), ("val", 16), ("test", 16)):
        arrays[f"x_{name}"] = rng.standard_normal((n, 3, SIZE, SIZE), dtype=np.float32)
        arrays[f"y_{name}"] = rng.integers(0, NUM_CLASSES, n)
    path = root / "dataset.npz"
    np.savez(path, **arrays, classes=np.asarray([str(i) for i in range(NUM_CLASSES)]),
             mean=np.zeros(3, np.float32), std=np.ones(3, np.float32))
    return path


class Loop:
    def __init__(self, name: str, device, model_name: str, batch: int):
        import torch

        from stages.models import build_model

        torch.manual_seed(0)
        self.name, self.device, self.batch = name, device, batch
        self.model = build_model({"name": model_name}, 3, NUM_CLASSES)

    def epoch(self, batches) -> int:
        raise NotImplementedError


class PlainLoop(Loop):
    def __init__(self, *a):
        import torch

        super().__init__(*a)
        self.model = self.model.to(self.device)
        if self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=CFG["lr"],
                                     weight_decay=CFG["weight_decay"])

    def epoch(self, batches) -> int:
        import torch
        import torch.nn.functional as F

        model, opt, dev, cuda = self.model, self.opt, self.device, self.device.type == "cuda"
        model.train()
        seen = 0
        for x, y in batches:
            if cuda:
                x = x.to(dev, non_blocking=True, memory_format=torch.channels_last)
                y = y.to(dev, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CFG["grad_clip"])
            opt.step()
            seen += len(y)
        return seen


class StagesLoop(Loop):
    def __init__(self, *a):
        super().__init__(*a)
        from stages.loop import prepare_model
        from stages.losses import Objective
        from stages.schedules import LrSchedule, build_optimizer

        self.model = prepare_model(self.model, self.device)
        self.objective = Objective.from_params(CFG, None, NUM_CLASSES, self.device)  # as train.py
        self.opt = build_optimizer(CFG, self.model)
        self.schedule = LrSchedule(CFG, self.opt, 10_000, True)

    def epoch(self, batches) -> int:
        from stages.loop import train_one_epoch

        out = train_one_epoch(self.model, batches, self.objective, self.opt, self.schedule,
                              self.device, CFG)
        assert out["train_loss"] == out["train_loss"], "the loss is NaN"
        return len(batches) * self.batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per timed epoch")
    parser.add_argument("--warmup", type=int, default=10, help="steps of the warm-up epoch")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cuda or cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--model", default="resnet18", help="a model.name for stages.models")
    parser.add_argument("--loops", default="plain,stages,stages+loader")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    repeat_arg(parser)
    args = parser.parse_args()
    repeat = check_repeat(args.repeat)
    import torch

    from stages.common import pick_device
    from stages.data import Prepared

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    info = machine("torch", "timm")
    info["device"] = torch.cuda.get_device_name(device) if cuda else "cpu"
    info["torch_threads"] = torch.get_num_threads()
    pool = synthetic_batches(8, args.batch_size, device)
    batches = [pool[i % len(pool)] for i in range(args.steps)]
    warm = [pool[i % len(pool)] for i in range(args.warmup)]
    tmp = Path(tempfile.mkdtemp(prefix="exptrack-gpubench-"))
    names = [n.strip() for n in args.loops.split(",")]
    loops, feeds = {}, {}  # name -> (warm-up batches, timed batches)
    for name in names:
        if name == "plain":
            loops[name] = PlainLoop(name, device, args.model, args.batch_size)
            feeds[name] = (lambda: warm, lambda: batches)
        elif name in ("stages", "stages+loader"):
            loops[name] = StagesLoop(name, device, args.model, args.batch_size)
            if name == "stages":
                feeds[name] = (lambda: warm, lambda: batches)
            else:
                data = Prepared(synthetic_prepared(tmp, args.steps * args.batch_size))
                loader = data.loader("train", args.batch_size, shuffle=True, device=device)
                feeds[name] = (lambda: list(itertools.islice(loader, args.warmup)), lambda: loader)
        else:
            raise SystemExit(f"unknown loop {name!r}; expected plain, stages, stages+loader")

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    for name, loop in loops.items():
        began = time.perf_counter()
        loop.epoch(feeds[name][0]())
        sync()
        progress(f"warm-up {name}: {time.perf_counter() - began:.1f} s")
    ips: dict[str, list[float]] = {n: [] for n in loops}
    util: dict[str, list[tuple[float, float]]] = {n: [] for n in loops}
    for r in range(repeat):
        for name, loop in loops.items():
            feed = feeds[name][1]()
            sync()
            with GpuSampler(cuda) as sampler:
                began = time.perf_counter()
                seen = loop.epoch(feed)
                sync()
                took = time.perf_counter() - began
            ips[name].append(seen / took)
            util[name] += sampler.samples
            progress(f"round {r + 1}/{repeat} {name}: {ips[name][-1]:,.0f} images/s")
    shutil.rmtree(tmp, ignore_errors=True)

    med = {n: median(v) for n, v in ips.items()}
    base = med.get("plain")
    rows = []
    for n in loops:
        u = util[n]
        rows.append([n, med[n], f"{med[n] / base:.3f}" if base else "",
                     f"{median(x for x, _ in u):.0f}%" if u else "n/a (no CUDA)",
                     f"{max(m for _, m in u):,.0f}" if u else "n/a"])
    label = f"{'GPU ' + info['device'] if cuda else 'CPU only (' + str(info['torch_threads']) + ' threads)'}"
    md = (f"Device: **{label}**. {args.model}, {SIZE}x{SIZE}, batch {args.batch_size}, "
          f"{'bf16 autocast, channels_last' if cuda else 'fp32 (autocast and channels_last apply on CUDA only)'}; "
          f"{args.steps} steps per timed epoch after {args.warmup} warm-up steps, {repeat} rounds.\n\n"
          + md_table(["loop", "images/s (median)", "vs plain", "GPU util (median)",
                      "GPU MiB (max)"], rows))
    finish(args, f"Training throughput ({'GPU' if cuda else 'CPU'})", md, {
        "machine": info, "device": label, "steps": args.steps, "batch_size": args.batch_size,
        "images_per_s": ips, "medians": med, "gpu_samples": util})


if __name__ == "__main__":
    main()
