"""Optimizers (adamw, sgd) and learning-rate schedules (step, plateau, cosine, onecycle) with warmup.

Schedules move per batch so that warmup is smooth; ``plateau`` warms up per batch too and then
reduces the rate when the monitored validation metric stops improving (checked per epoch).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from exptrack import ExptrackError

OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("none", "step", "plateau", "cosine", "onecycle")


def build_optimizer(cfg: Mapping[str, Any], model):
    import torch

    name, lr, wd = cfg["optimizer"], float(cfg["lr"]), float(cfg["weight_decay"])
    if lr <= 0 or wd < 0:
        raise ExptrackError(f"invalid train.lr {lr!r} / train.weight_decay {wd!r}; expected lr > 0 "
                            "and weight_decay >= 0")
    # Biases and norm layers are not decayed: decay on them only hurts.
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=float(cfg["momentum"]), nesterov=True)
    raise ExptrackError(f"invalid train.optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


class LrSchedule:
    """``after_batch()`` each step, ``after_epoch(metric)`` each epoch; saved with the checkpoint."""

    def __init__(self, cfg: Mapping[str, Any], optimizer, steps_per_epoch: int, maximize: bool):
        import torch.optim.lr_scheduler as sched

        self.kind = cfg["scheduler"]
        if self.kind not in SCHEDULERS:
            raise ExptrackError(f"invalid train.scheduler {self.kind!r}; expected one of "
                                f"{', '.join(SCHEDULERS)}")
        epochs, warmup = int(cfg["epochs"]), float(cfg["warmup_epochs"])
        if warmup < 0:
            raise ExptrackError(f"invalid train.warmup_epochs {warmup!r}; expected >= 0")
        self.warmup_steps = int(warmup * steps_per_epoch)
        total = max(epochs * steps_per_epoch, 1)
        step_size, gamma = int(cfg["step_size"]), float(cfg["gamma"])
        self.plateau, self.steps = None, 0
        if self.kind == "onecycle":
            self.batch = sched.OneCycleLR(
                optimizer, max_lr=float(cfg["lr"]), total_steps=total,
                pct_start=min(max(self.warmup_steps / total, 0.01), 0.99))
            self.total = total
            return

        def factor(step: int) -> float:
            if step < self.warmup_steps:
                return (step + 1) / (self.warmup_steps + 1)
            if self.kind == "step":
                return gamma ** ((step - self.warmup_steps) // (step_size * steps_per_epoch))
            if self.kind == "cosine":
                progress = (step - self.warmup_steps) / max(total - self.warmup_steps, 1)
                return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            return 1.0  # none, and plateau once warmed up: plateau itself reduces from here

        self.total = total
        self.batch = sched.LambdaLR(optimizer, factor)
        if self.kind == "plateau":
            self.plateau = sched.ReduceLROnPlateau(
                optimizer, mode="max" if maximize else "min", factor=gamma,
                patience=int(cfg["plateau_patience"]))

    def after_batch(self) -> None:
        self.steps += 1
        if self.kind == "onecycle" and self.steps >= self.total:
            return  # OneCycleLR refuses to step past its end; the last rate holds
        if self.plateau is None or self.steps <= self.warmup_steps:
            self.batch.step()

    def after_epoch(self, metric: float) -> None:
        if self.plateau is not None and self.steps >= self.warmup_steps:
            self.plateau.step(metric)

    # A resumed schedule is rebuilt and replayed to its step rather than unpickled, so that a run
    # resumed with more epochs follows the schedule of its new length. Load the optimizer's state
    # after this: it holds the rate a plateau reduction left.
    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "steps": self.steps,
                "plateau": self.plateau.state_dict() if self.plateau is not None else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        import warnings

        with warnings.catch_warnings():  # "scheduler stepped before optimizer": on purpose here
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(int(state["steps"])):
                self.after_batch()
        if self.plateau is not None and state.get("plateau"):
            self.plateau.load_state_dict(state["plateau"])


def current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


__all__ = ["LrSchedule", "OPTIMIZERS", "SCHEDULERS", "build_optimizer", "current_lr"]
