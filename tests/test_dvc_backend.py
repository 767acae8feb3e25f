"""The ``dvc`` logging backend: files that ``dvc metrics show`` and ``dvc plots show`` read."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import exptrack
from exptrack import ExptrackError
from exptrack_core.plugin.interfaces import RunInfo
from exptrack_plugins.dvc.backend import DvcBackend

DVC_ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}


def log_three_epochs(**init_kwargs) -> exptrack.Run:
    with exptrack.init(experiment="digits", params={"train": {"lr": 0.01}}, backends="local,dvc",
                       **init_kwargs) as run:
        for epoch in (1, 2, 3):
            run.log({"train_loss": 1.0 / epoch, "val_acc": 0.5 + epoch / 10}, step=epoch)
        run.log({"best_val_acc": 0.8})
    return run


def read_tsv(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


def dvc(*args: str, cwd: Path) -> str:
    proc = subprocess.run(["dvc", *args], cwd=cwd, env=DVC_ENV, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_run_with_the_dvc_backend_writes_latest_metrics_and_one_plot_per_metric(workdir):
    run = log_three_epochs()
    assert run.backend_failures == {}
    latest = json.loads((workdir / "metrics/train.json").read_text())
    assert latest == {"train_loss": 1 / 3, "val_acc": 0.5 + 3 / 10, "step": 3, "best_val_acc": 0.8}
    assert read_tsv(workdir / "plots/train/val_acc.tsv") == [
        ["step", "val_acc"], ["1", repr(0.6)], ["2", repr(0.7)], ["3", repr(0.8)]]
    assert read_tsv(workdir / "plots/train/train_loss.tsv")[0] == ["step", "train_loss"]
    # a final metric (no step) is a metric, not a curve
    assert not (workdir / "plots/train/best_val_acc.tsv").exists()
    assert [p.name for p in (workdir / "metrics").iterdir()] == ["train.json"]  # no temp file left


def test_dvc_reads_the_files_as_metrics_and_plots(workdir):
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    dvc("init", "-q", cwd=workdir)
    (workdir / "dvc.yaml").write_text(
        "metrics:\n  - metrics/train.json\nplots:\n  - plots/train:\n      x: step\n")
    log_three_epochs()
    shown = json.loads(dvc("metrics", "show", "--json", cwd=workdir))
    assert shown[""]["data"]["metrics/train.json"]["data"]["val_acc"] == pytest.approx(0.8)
    plots = json.loads(dvc("plots", "show", "--json", cwd=workdir))["data"]
    values = plots["plots/train/val_acc.tsv"][0]["content"]["data"]["values"]
    assert [(int(v["step"]), float(v["val_acc"])) for v in values] == [
        (1, 0.6), (2, 0.7), (3, pytest.approx(0.8))]


def test_the_paths_are_options_and_a_second_run_replaces_the_curves(workdir):
    options = {"dvc": {"metrics_file": "out/m.json", "plots_dir": "out/curves"}}
    log_three_epochs(backend_options=options)
    with exptrack.init(experiment="digits", backends="local,dvc", backend_options=options) as run:
        run.log({"val_acc": 0.99}, step=1)
    assert json.loads((workdir / "out/m.json").read_text()) == {"val_acc": 0.99, "step": 1}
    assert read_tsv(workdir / "out/curves/val_acc.tsv") == [["step", "val_acc"], ["1", "0.99"]]
    assert not (workdir / "metrics").exists()


def test_each_step_is_on_disk_as_soon_as_it_is_logged(workdir):
    backend = DvcBackend(RunInfo("r1", "digits", workdir / "run"), {})
    backend.log_metrics({"val_loss": 0.5}, 1, 0.0)
    assert read_tsv(workdir / "plots/train/val_loss.tsv")[-1] == ["1", "0.5"]
    backend.log_metrics({"val_loss": float("nan")}, 2, 0.0)
    assert read_tsv(workdir / "plots/train/val_loss.tsv")[-1] == ["2", "nan"]
    assert json.loads((workdir / "metrics/train.json").read_text()) == {"val_loss": "nan", "step": 2}
    backend.finish("completed")


def test_a_nested_metric_name_becomes_a_sub_directory_and_dots_cannot_escape(workdir):
    backend = DvcBackend(RunInfo("r1", "digits", workdir / "run"), {})
    backend.log_metrics({"val/acc": 0.7}, 1, 0.0)
    assert read_tsv(workdir / "plots/train/val/acc.tsv") == [["step", "acc"], ["1", "0.7"]]
    with pytest.raises(ExptrackError, match=r"invalid metric name '\.\.'"):
        backend.log_metrics({"../escape": 1.0}, 2, 0.0)
    assert not (workdir / "plots/escape.tsv").exists()


def test_an_unknown_option_names_itself_and_what_is_accepted(workdir):
    with pytest.raises(ExptrackError, match="unknown option 'metrics' for backend 'dvc'; "
                                            "accepted: metrics_file, plots_dir"):
        DvcBackend(RunInfo("r1", "digits", workdir / "run"), {"metrics": "m.json"})
