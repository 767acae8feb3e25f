"""Evaluation reports: per-class scores, the confusion matrix as JSON (two shapes) and as a PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from exptrack_core.files import write_text


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(data, indent=2) + "\n")


def per_class_report(pred, true, classes: list[str]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=labels, zero_division=0)
    return {
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                             "f1": float(f1[i]), "support": int(support[i])}
                      for i, name in enumerate(classes)},
        "confusion_matrix": {"labels": classes, "rows": "actual", "columns": "predicted",
                             "matrix": confusion_matrix(true, pred, labels=labels).tolist()},
    }


def confusion_records(pred, true, classes: list[str]) -> list[dict[str, str]]:
    """One record per test example: the shape DVC's ``confusion`` plot template reads."""
    return [{"actual": classes[t], "predicted": classes[p]} for p, t in zip(pred, true)]


def confusion_png(matrix: list[list[int]], classes: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.45 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=90 if len(classes) > 12 else 0)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    peak = max((max(row) for row in matrix), default=0)
    if len(classes) <= 30:
        for i, row in enumerate(matrix):
            for j, n in enumerate(row):
                if n:
                    ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                            color="white" if n > peak / 2 else "black")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


__all__ = ["confusion_png", "confusion_records", "per_class_report", "write_json"]
