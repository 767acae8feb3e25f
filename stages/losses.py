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
    """``objective(logits, target)`` -> mean loss; plain cross-entropy unless told otherwise."""

    def __init__(self, kind: str = "cross_entropy", *, smoothing: float = 0.0,
                 focal_gamma: float = 0.0, weight=None, device="cpu"):
        if kind not in LOSSES:
            raise ExptrackError(f"invalid train.loss {kind!r}; expected one of {', '.join(LOSSES)}")
        if not 0 <= smoothing < 1:
            raise ExptrackError(f"invalid train.label_smoothing {smoothing!r}; expected 0 <= x < 1")
        self.kind, self.smoothing, self.gamma = kind, float(smoothing), float(focal_gamma)
        self.weight = weight.to(device) if weight is not None else None

    @classmethod
    def from_params(cls, cfg: Mapping[str, Any], labels, num_classes: int, device) -> "Objective":
        """The training objective the ``train`` section describes."""
        return cls(cfg["loss"], smoothing=float(cfg["label_smoothing"]),
                   focal_gamma=float(cfg["focal_gamma"]),
                   weight=class_weights(cfg["class_weights"], labels, num_classes), device=device)

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
