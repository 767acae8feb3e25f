"""Stage 3: score a checkpoint on the test split.

    python stages/evaluate.py

Writes test accuracy, macro F1 and loss to metrics/eval.json; per-class precision/recall/F1 and
the confusion matrix to metrics/per_class.json; the confusion matrix again as DVC plot records
(plots/eval/confusion.json) and as an image (plots/eval/confusion.png).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``stages`` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stages.common import (CHECKPOINTS, CONFUSION_JSON, CONFUSION_PNG, EVAL_METRICS,  # noqa: E402
                           PER_CLASS, PREPARED, choice, section, stage_main)

EVALUATE_KEYS = ("checkpoint", "batch_size", "device", "amp")
CHECKPOINT_CHOICES = ("best", "last")


def test_scores(state: dict, data, batch_size: int, device, amp: bool) -> tuple[dict, object, object]:
    """A checkpoint's scores on the test split, and its predictions and labels: what this stage
    writes to metrics/eval.json, and what the train stage logs to its run once training ends
    (so ``exptrack compare --split test`` shows the same numbers)."""
    from exptrack import ExptrackError
    from stages.loop import classification_scores, predict, prepare_model
    from stages.losses import Objective
    from stages.models import build_model

    if data.classes != state["classes"] or data.input_shape != tuple(state["input_shape"]):
        raise ExptrackError(f"{PREPARED} (classes {data.classes}) is not the data the checkpoint was "
                            f"trained on (classes {state['classes']}); run train again")
    model_cfg = {**state["params"]["model"], "pretrained": False}  # weights come from the checkpoint
    model = build_model(model_cfg, data.input_shape[0], data.num_classes)
    model.load_state_dict(state["model"])
    model = prepare_model(model, device)
    loader = data.loader("test", batch_size, shuffle=False, device=device)
    loss, pred, true = predict(model, loader, Objective(device=device), device, amp)
    scores = classification_scores(pred, true)
    metrics = {"test_loss": loss, "test_acc": scores["acc"], "test_f1": scores["f1"]}
    return metrics, pred, true


def main(params: dict) -> None:
    from stages import checkpoints, reports
    from stages.common import pick_device
    from stages.data import Prepared

    cfg = section(params, "evaluate", EVALUATE_KEYS)
    which = choice(cfg["checkpoint"], "evaluate.checkpoint", CHECKPOINT_CHOICES)
    device = pick_device(cfg["device"])
    state = checkpoints.load(CHECKPOINTS / f"{which}.pt")
    data = Prepared(PREPARED)
    scores, pred, true = test_scores(state, data, cfg["batch_size"], device, bool(cfg["amp"]))
    metrics = {**scores, "checkpoint_epoch": int(state["epoch"])}
    report = reports.per_class_report(pred, true, data.classes)
    reports.write_json(EVAL_METRICS, metrics)
    reports.write_json(PER_CLASS, report)
    reports.write_json(CONFUSION_JSON, reports.confusion_records(pred, true, data.classes))
    reports.confusion_png(report["confusion_matrix"]["matrix"], data.classes, CONFUSION_PNG,
                          f"{state['params']['model']['name']}: test acc {scores['test_acc']:.3f}")
    print("  ".join(f"{k} {v:.4g}" for k, v in metrics.items()) + f"  -> {EVAL_METRICS}")


if __name__ == "__main__":
    stage_main(main)
