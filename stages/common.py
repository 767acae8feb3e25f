"""What every stage shares: where files go, the device, seeding, and one-line errors."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from exptrack import ExptrackError, load_params

# Paths are part of the pipeline's shape (dvc.yaml names them too), not hyperparameters.
PARAMS_FILE = "params.yaml"
PREPARED = Path("data/prepared/dataset.npz")
CHECKPOINTS = Path("checkpoints")
TRAIN_METRICS = Path("metrics/train.json")
TRAIN_PLOTS = Path("plots/train")
EVAL_METRICS = Path("metrics/eval.json")
PER_CLASS = Path("metrics/per_class.json")
CONFUSION_JSON = Path("plots/eval/confusion.json")
CONFUSION_PNG = Path("plots/eval/confusion.png")


def section(params: Mapping[str, Any], name: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``params[name]`` as a dict, with the keys a stage cannot work without checked."""
    value = params.get(name)
    if not isinstance(value, Mapping):
        raise ExptrackError(f"{PARAMS_FILE} needs a {name!r} section (a mapping), got {value!r}")
    missing = [k for k in required if k not in value]
    if missing:
        raise ExptrackError(f"{PARAMS_FILE} section {name!r} lacks {', '.join(missing)}")
    return dict(value)


def choice(value: Any, key: str, accepted: tuple[str, ...]) -> str:
    if value not in accepted:
        raise ExptrackError(f"invalid {key} {value!r}; expected one of {', '.join(accepted)}")
    return value


def pick_device(requested: str):
    import torch

    choice(requested, "train.device", ("auto", "cpu", "cuda"))
    if requested == "cuda" and not torch.cuda.is_available():
        raise ExptrackError("train.device is 'cuda' but no CUDA device is visible; use auto or cpu")
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(requested)


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def stage_main(body: Callable[[dict[str, Any]], None]) -> None:
    """Run a stage: params in, and a user error becomes one line on stderr with exit code 2."""
    try:
        body(load_params(PARAMS_FILE))
    except ExptrackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


__all__ = ["CHECKPOINTS", "CONFUSION_JSON", "CONFUSION_PNG", "EVAL_METRICS", "PARAMS_FILE",
           "PER_CLASS", "PREPARED", "TRAIN_METRICS", "TRAIN_PLOTS", "choice", "pick_device",
           "section", "seed_everything", "stage_main"]
