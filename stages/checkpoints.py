"""Training checkpoints: ``last.pt`` to resume from, ``best.pt`` for evaluation.

A checkpoint carries the params it was trained with. Resuming needs the same params except those
that do not change what an epoch does (the number of epochs, the patience, where results go), so a
run can also be resumed with more epochs to train longer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from exptrack import ExptrackError
from exptrack_core.files import replacing

# Keys of the train section that may differ between a checkpoint and the run resuming it.
RESUMABLE_CHANGES = ("epochs", "patience", "backends", "experiment", "device", "num_workers",
                     "final_test")


def fingerprint(params: Mapping[str, Any]) -> str:
    """A hash of what decides the training trajectory: data, model and train (less the above)."""
    train = {k: v for k, v in dict(params.get("train", {})).items() if k not in RESUMABLE_CHANGES}
    relevant = {"data": params.get("data"), "model": params.get("model"), "train": train}
    text = json.dumps(relevant, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save(path: Path, state: Mapping[str, Any]) -> None:
    """Write atomically: a run killed mid-save leaves the previous checkpoint intact."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        torch.save(dict(state), tmp)


def load(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except FileNotFoundError:
        raise ExptrackError(f"checkpoint {str(path)!r} does not exist; run the train stage first "
                            "(python stages/train.py or dvc repro train)") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise ExptrackError(f"checkpoint {str(path)!r} cannot be read ({exc}); delete it and "
                            "train again") from None


def resumable(path: Path, params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The checkpoint at ``path`` if training can continue from it, and why (for the log)."""
    if not path.is_file():
        return None, "no checkpoint"
    try:
        state = load(path)
    except ExptrackError as exc:
        return None, str(exc)
    if state.get("fingerprint") != fingerprint(params):
        return None, f"{path} was trained with other params"
    if state["epoch"] > int(params["train"]["epochs"]):
        return None, f"{path} is at epoch {state['epoch']}, past train.epochs"
    return state, f"resuming from {path} after epoch {state['epoch']}"


__all__ = ["RESUMABLE_CHANGES", "fingerprint", "load", "resumable", "save"]
