"""One training epoch and one pass of predictions, CPU or CUDA.

On CUDA the batches move with non-blocking copies from pinned memory, in channels_last layout,
and the forward pass runs under bf16 autocast (``train.amp``); on CPU none of that applies.
"""

from __future__ import annotations

import contextlib
from typing import Any, Mapping

from stages.losses import mixup


def to_device(x, y, device):
    import torch

    if device.type == "cuda":
        return (x.to(device, non_blocking=True, memory_format=torch.channels_last),
                y.to(device, non_blocking=True))
    return x, y


def autocast(device, amp: bool):
    import torch

    if device.type == "cuda" and amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare_model(model, device):
    import torch

    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model


def train_one_epoch(model, loader, objective, optimizer, schedule, device,
                    cfg: Mapping[str, Any]) -> dict[str, float]:
    import torch

    model.train()
    alpha, clip, amp = float(cfg["mixup_alpha"]), float(cfg["grad_clip"]), bool(cfg["amp"])
    loss_sum = torch.zeros((), device=device)  # summed on the device: no sync per batch
    correct = torch.zeros((), device=device)
    seen = 0
    for x, y in loader:
        x, y = to_device(x, y, device)
        x, y_a, y_b, lam = mixup(x, y, alpha)
        with autocast(device, amp):
            logits = model(x)
        loss = objective(logits, y_a) if lam == 1.0 else (
            lam * objective(logits, y_a) + (1 - lam) * objective(logits, y_b))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        schedule.after_batch()
        pred = logits.detach().argmax(1)
        loss_sum += loss.detach() * len(y)
        correct += lam * (pred == y_a).sum() + (1 - lam) * (pred == y_b).sum()
        seen += len(y)
    return {"train_loss": loss_sum.item() / seen, "train_acc": correct.item() / seen}


def predict(model, loader, objective, device, amp: bool):
    """(mean loss, predicted labels, true labels) over ``loader``, as numpy arrays."""
    import numpy as np
    import torch

    model.eval()
    loss_sum, preds, targets, seen = 0.0, [], [], 0
    with torch.no_grad():
        for x, y in loader:
            x, y = to_device(x, y, device)
            with autocast(device, amp):
                logits = model(x)
            loss_sum += objective(logits, y).item() * len(y)
            preds.append(logits.argmax(1).cpu().numpy())
            targets.append(y.cpu().numpy())
            seen += len(y)
    return loss_sum / max(seen, 1), np.concatenate(preds), np.concatenate(targets)


def classification_scores(pred, true) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {"acc": float(accuracy_score(true, pred)),
            "f1": float(f1_score(true, pred, average="macro", zero_division=0))}


__all__ = ["autocast", "classification_scores", "predict", "prepare_model", "to_device",
           "train_one_epoch"]
