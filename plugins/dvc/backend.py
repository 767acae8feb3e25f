"""Mirrors a run's metrics into the files DVC reads: a metrics JSON and one plots TSV per metric.

    metrics/train.json          {"step": 3, "train_loss": 0.21, "val_acc": 0.98, ...}  latest values
    plots/train/val_acc.tsv     step<TAB>val_acc, one line per logged step

``dvc.yaml`` declares these paths as ``metrics`` and ``plots`` (``cache: false``), so
``dvc exp show`` and ``dvc plots show`` read them. Options ``metrics_file`` and ``plots_dir``
move them. Each plots line is one append to an open file; the JSON is replaced atomically, so a
reader never sees half of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, TextIO

from exptrack_core.files import write_text
from exptrack_core.plugin.interfaces import RunInfo
from exptrack_core.names import check_name

from exptrack_core.plugin.options import check_options

DEFAULT_METRICS_FILE = "metrics/train.json"
DEFAULT_PLOTS_DIR = "plots/train"
OPTIONS = {"metrics_file": Path, "plots_dir": Path}


def plot_path(plots_dir: Path, metric: str) -> Path:
    """``val/acc`` -> ``plots_dir/val/acc.tsv``: each part must be a safe file name."""
    parts = metric.split("/")
    for part in parts:
        check_name("metric", part)
    return plots_dir.joinpath(*parts[:-1], parts[-1] + ".tsv")


def number(value: float) -> float | str:
    """JSON has no NaN or infinity: DVC gets them as the strings Python's float() reads back."""
    return str(value) if math.isnan(value) or math.isinf(value) else value


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """DVC's metrics file layout (``indent=2``), written as every record file is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(data, indent=2) + "\n")


class DvcBackend:
    """One run's stream as DVC metrics and plots files (this run's files replace earlier ones)."""

    def __init__(self, run: RunInfo, options: Mapping[str, Any] | None = None):
        options = check_options("dvc", options, OPTIONS)
        self.metrics_file = options.get("metrics_file", Path(DEFAULT_METRICS_FILE))
        self.plots_dir = options.get("plots_dir", Path(DEFAULT_PLOTS_DIR))
        self.latest: dict[str, Any] = {}
        self._plots: dict[str, TextIO] = {}

    def _plot_file(self, metric: str) -> TextIO:
        f = self._plots.get(metric)
        if f is None:
            path = plot_path(self.plots_dir, metric)
            path.parent.mkdir(parents=True, exist_ok=True)
            f = self._plots[metric] = open(path, "w", encoding="utf-8")
            f.write(f"step\t{metric.rsplit('/', 1)[-1]}\n")
        return f

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass  # DVC reads params from params.yaml itself

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None:
        for name, value in metrics.items():
            self.latest[name] = number(float(value))
            if step is not None:
                f = self._plot_file(name)
                f.write(f"{step}\t{float(value)!r}\n")
                f.flush()
        if step is not None:
            self.latest["step"] = step
        write_json_atomic(self.metrics_file, self.latest)

    def log_artifact(self, path: Path, name: str) -> None:
        pass  # DVC versions outputs through dvc.yaml, not through the run

    def finish(self, status: str) -> None:
        for f in self._plots.values():
            f.close()
        self._plots.clear()
        if self.latest:
            write_json_atomic(self.metrics_file, self.latest)


__all__ = ["DEFAULT_METRICS_FILE", "DEFAULT_PLOTS_DIR", "DvcBackend", "plot_path"]
