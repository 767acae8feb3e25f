"""The training objective: cross-entropy or focal loss, class weights, label smoothing, mixup."""

from __future__ import annotations

from typing import Any, Mapping

from exptrack import ExptrackError

LOSSES = ("cross_entropy", "focal")


def class_weights(spec: Any, labels, num_classes: int):
    """``none``, ``balanced`` (inverse class frequency in the training split), or a list of weights."""
    import numpy as np
    import torch

    if spec in (None, "none", False):
        return None
    if spec == "balanced":
        counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
        return torch.tensor(len(labels) / (num_classes * np.maximum(counts, 1)), dtype=torch.float32)
    if isinstance(spec, (list, tuple)) and all(isinstance(w, (int, float)) for w in spec):
        if len(spec) != num_classes or any(w < 0 for w in spec):
            raise ExptrackError(f"train.class_weights has {len(spec)} entries; expected "
                                f"{num_classes} non-negative numbers (one per class)")
        return torch.tensor(spec, dtype=torch.float32)
    raise ExptrackError(f"invalid train.class_weights {spec!r}; expected none, balanced or a list "
                        f"of {num_classes} numbers")


class Objective:
    """``objective(logits, target)`` -> mean loss, with the configured weighting and smoothing."""

    def __init__(self, cfg: Mapping[str, Any], weight, device):
        self.kind = cfg.get("loss", "cross_entropy")
        if self.kind not in LOSSES:
            raise ExptrackError(f"invalid train.loss {self.kind!r}; expected one of {', '.join(LOSSES)}")
        self.smoothing = float(cfg.get("label_smoothing", 0.0))
        if not 0 <= self.smoothing < 1:
            raise ExptrackError(f"invalid train.label_smoothing {self.smoothing!r}; expected 0 <= x < 1")
        self.gamma = float(cfg.get("focal_gamma", 2.0))
        self.weight = weight.to(device) if weight is not None else None

    def __call__(self, logits, target):
        import torch.nn.functional as F

        logits = logits.float()
        ce = F.cross_entropy(logits, target, weight=self.weight, label_smoothing=self.smoothing,
                             reduction="none")
        if self.kind == "focal":  # down-weights examples the model already gets right
            p_true = (-F.cross_entropy(logits, target, reduction="none")).exp()
            ce = (1 - p_true) ** self.gamma * ce
        return ce.mean()


def mixup(x, y, alpha: float):
    """Convex mix of each example with a shuffled partner: (inputs, y_a, y_b, lam)."""
    import torch

    if alpha <= 0:
        return x, y, y, 1.0
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    perm = torch.randperm(x.shape[0], device=x.device)
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam


__all__ = ["LOSSES", "Objective", "class_weights", "mixup"]
