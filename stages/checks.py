"""The train stage's parameter checks, without torch: what ``stages/train.py`` checks first, and
what a sweep runs on its first trial's params before launching anything.

    EXPTRACK_PARAMS='{"train.lr": "abc"}' python stages/checks.py    # one line, exit 2
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Mapping

if __package__ in (None, ""):  # run as a script: make ``stages`` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exptrack import ExptrackError  # noqa: E402
from stages.common import choice, section, stage_main  # noqa: E402
from stages.evaluate import CHECKPOINT_CHOICES  # noqa: E402
from stages.losses import LOSSES  # noqa: E402
from stages.schedules import OPTIMIZERS, SCHEDULERS  # noqa: E402

REQUIRED = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "scheduler",
            "warmup_epochs", "step_size", "gamma", "plateau_patience", "grad_clip",
            "label_smoothing", "loss", "focal_gamma", "class_weights", "mixup_alpha", "monitor",
            "patience", "seed", "amp", "device", "num_workers")
MONITORS = ("val_acc", "val_f1", "val_loss")
FLOATS = ("lr", "momentum", "weight_decay", "warmup_epochs", "gamma", "grad_clip",
          "label_smoothing", "focal_gamma", "mixup_alpha")
INTS = ("epochs", "batch_size", "step_size", "plateau_patience", "patience", "seed", "num_workers")


def _number(cfg: Mapping[str, Any], key: str, kind: Callable[[Any], Any]) -> Any:
    """``kind(value)`` as the stage converts it; an int key refuses 2.5 rather than truncating."""
    value = cfg[key]
    expected = "an integer" if kind is int else "a number"
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or (kind is int and float(value) != number):
        raise ExptrackError(f"invalid train.{key} {value!r}; expected {expected}")
    return number


def check_final_test(params: Mapping[str, Any], cfg: Mapping[str, Any]) -> None:
    """``train.final_test`` scores ``evaluate.checkpoint`` once training ends: its settings are
    checked before the first epoch, not found wrong after the last."""
    final_test = cfg.get("final_test", True)
    if not isinstance(final_test, bool):
        raise ExptrackError(f"invalid train.final_test {final_test!r}; expected true or false")
    if final_test:
        evaluate = section(params, "evaluate", ("checkpoint", "batch_size", "amp"))
        choice(evaluate["checkpoint"], "evaluate.checkpoint", CHECKPOINT_CHOICES)
        size = evaluate["batch_size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ExptrackError(f"invalid evaluate.batch_size {size!r}; expected an integer >= 1")


def check_train_params(params: Mapping[str, Any]) -> None:
    """Every ``train`` value the stage reads has the type and range it needs."""
    cfg = section(params, "train", REQUIRED)
    section(params, "model", ("name",))
    choice(cfg["monitor"], "train.monitor", MONITORS)
    choice(cfg["optimizer"], "train.optimizer", OPTIMIZERS)
    choice(cfg["scheduler"], "train.scheduler", SCHEDULERS)
    choice(cfg["loss"], "train.loss", LOSSES)
    choice(cfg["device"], "train.device", ("auto", "cpu", "cuda"))
    floats = {k: _number(cfg, k, float) for k in FLOATS}
    if "system_metrics" in cfg and _number(cfg, "system_metrics", float) < 0:
        raise ExptrackError(f"invalid train.system_metrics {cfg['system_metrics']!r}; expected "
                            "seconds between samples (0: none)")
    for key in INTS:
        _number(cfg, key, int)
    check_final_test(params, cfg)
    if floats["lr"] <= 0 or floats["weight_decay"] < 0:
        raise ExptrackError(f"invalid train.lr {floats['lr']!r} / train.weight_decay "
                            f"{floats['weight_decay']!r}; expected lr > 0 and weight_decay >= 0")
    if not 0 <= floats["label_smoothing"] < 1:
        raise ExptrackError(f"invalid train.label_smoothing {cfg['label_smoothing']!r}; "
                            "expected 0 <= x < 1")
    if floats["warmup_epochs"] < 0:
        raise ExptrackError(f"invalid train.warmup_epochs {cfg['warmup_epochs']!r}; expected >= 0")


if __name__ == "__main__":
    stage_main(check_train_params)
