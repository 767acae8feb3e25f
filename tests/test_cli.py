"""`exptrack runs / show / compare / best / plot` as a user runs them."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

import exptrack

from .conftest import assert_one_line_error, run_cli


@pytest.fixture
def three_runs(workdir):
    (workdir / "params.yaml").write_text("train:\n  lr: 0.01\n  epochs: 3\nmodel:\n  name: cnn\n")
    ids = {}
    for lr, acc in ((0.1, 0.80), (0.01, 0.95), (0.001, 0.90)):
        params = {"train": {"lr": lr, "epochs": 3}, "model": {"name": "cnn"}}
        with exptrack.init(experiment="digits", params=params) as run:
            for epoch in range(3):
                run.log({"val_acc": acc - 0.1 * (2 - epoch), "train_loss": lr * (3 - epoch)},
                        step=epoch)
            run.log({"test_acc": acc - 0.01})
        ids[lr] = run.id
    return ids


def test_runs_lists_every_run_with_status_and_key_metrics(three_runs, workdir):
    out = run_cli("runs", check=True).stdout
    for run_id in three_runs.values():
        assert run_id in out
    assert "completed" in out and "val_acc" in out and "3 run(s)" in out
    listed = json.loads(run_cli("runs", "digits", "--json", check=True).stdout)
    assert {r["run_id"] for r in listed} == set(three_runs.values())


def test_compare_sorts_best_first_and_shows_only_params_that_differ(three_runs):
    out = run_cli("compare", "--sort-by", "val_acc", "--format", "csv", check=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["run_id"] for r in rows] == [three_runs[0.01], three_runs[0.001], three_runs[0.1]]
    assert "train.lr" in rows[0] and "train.epochs" not in rows[0]
    assert float(rows[0]["val_acc"]) == pytest.approx(0.95)


def test_compare_filters_selects_columns_and_exports(three_runs, workdir):
    out = run_cli("compare", "--filter", "val_acc>0.85", "--columns", "run_id,train.lr,val_acc",
                  "--format", "json", "--export", "out.csv", check=True).stdout
    rows = json.loads(out)
    assert {r["run_id"] for r in rows} == {three_runs[0.01], three_runs[0.001]}
    assert set(rows[0]) == {"run_id", "train.lr", "val_acc"}
    exported = list(csv.DictReader((workdir / "out.csv").open()))
    assert len(exported) == 2
    md = run_cli("compare", "--format", "md", check=True).stdout
    assert md.startswith("| run_id | status |")


def test_best_prints_the_winner_and_a_command_to_rerun_it(three_runs):
    result = yaml.safe_load(run_cli("best", "--metric", "val_acc", check=True).stdout)
    assert result["run_id"] == three_runs[0.01] and result["value"] == pytest.approx(0.95)
    assert result["params"]["train"]["lr"] == 0.01
    loss = json.loads(run_cli("best", "digits", "--metric", "train_loss", "--mode", "min",
                              "--format", "json", check=True).stdout)
    assert loss["run_id"] == three_runs[0.001]
    assert loss["rerun"] == "dvc exp run -S train.lr=0.001"  # only what differs from params.yaml


def test_show_prints_params_metrics_and_context(three_runs):
    out = run_cli("show", three_runs[0.1], check=True).stdout
    assert "train.lr: 0.1" in out and "val_acc" in out and "python:" in out
    assert json.loads(run_cli("show", three_runs[0.1], "--json", check=True).stdout)["status"] == "completed"


def test_plot_writes_one_png_with_a_curve_per_run(three_runs, workdir):
    proc = run_cli("plot", "val_acc", three_runs[0.1], three_runs[0.01], "-o", "curves.png",
                   check=True)
    assert "2 run(s)" in proc.stdout
    assert (workdir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,fragments", [
    (["show", "nope"], ["unknown run id 'nope'", "available:"]),
    (["best", "--metric", "auc"], ["unknown metric 'auc'", "val_acc"]),
    (["compare", "--sort-by", "auc"], ["unknown metric 'auc'"]),
    (["compare", "--filter", "val_acc>>1"], ["malformed filter"]),
    (["compare", "--filter", "nope>1"], ["unknown filter column 'nope'"]),
    (["compare", "--format", "xml"], ["invalid format 'xml'", "csv"]),
    (["best", "--metric", "val_acc", "--mode", "up"], ["invalid mode 'up'"]),
    (["runs", "ghost"], ["unknown experiment 'ghost'", "digits"]),
    (["plot", "auc", "-o", "x.png"], ["unknown metric 'auc'"]),
    (["runs", "--dir", "missing"], ["'missing' does not exist"]),
])
def test_bad_input_gets_one_line_naming_the_value(three_runs, args, fragments):
    assert_one_line_error(run_cli(*args), *fragments)


def test_a_file_given_as_the_directory_is_a_clear_error(workdir):
    (workdir / "file").write_text("x")
    assert_one_line_error(run_cli("runs", "--dir", "file"), "'file' is not a directory")
