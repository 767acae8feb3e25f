"""`exptrack plot --dvc`: the plots dvc.yaml declares, drawn as PNGs with nothing loaded from the
network, holding the same data `dvc plots show` (DVC's own code) reads from the same files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import exptrack
from exptrack_core.cli.commands import main

from .conftest import REPO, assert_one_line_error, run_cli
from .test_pipeline import make_project, ok, stage


def dvc_plots_show(project: Path) -> dict[str, list[dict]]:
    """What `dvc plots show --json` reads: {plot id: its data rows}, images as their path."""
    if not (project / ".dvc").exists():
        subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=project, check=True)
    proc = subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "--json"], cwd=project,
                          capture_output=True, text=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert proc.returncode == 0, proc.stderr
    out = {}
    for plot_id, renders in json.loads(proc.stdout)["data"].items():
        if not renders:  # declared, not written
            continue
        (render,) = renders
        out[plot_id] = render if render["type"] == "image" else render["content"]
    return out


def fields(content: dict) -> tuple[str, str]:
    """The x and y fields of one of DVC's vega specs."""
    enc = content.get("spec", content).get("encoding", {})
    x = enc.get("x", {}).get("field")
    y = enc.get("y", {}).get("field") or next(
        l["encoding"]["y"]["field"] for l in content["layer"] if "y" in l.get("encoding", {}))
    return x, y


def assert_same_data_as_dvc(project: Path, out: Path, figures: dict) -> None:
    shown = dvc_plots_show(project)
    index = (out / "index.html").read_text()
    assert "http" not in index and "<script" not in index  # nothing loaded from elsewhere
    drawn_ids = {Path(p).relative_to(out).as_posix().removesuffix(".png") for p in figures}
    images = {p for p, r in shown.items() if r.get("type") == "image"}
    assert drawn_ids | images == set(shown), (sorted(drawn_ids), sorted(shown))
    for plot_id, content in shown.items():
        if plot_id in images:
            assert (out / plot_id).read_bytes() == (project / plot_id).read_bytes()
            continue
        ax = figures[(out / f"{plot_id}.png").as_posix()].axes[0]
        x, y = fields(content)
        rows = content["data"]["values"]
        if ax.get_images():  # a confusion matrix: counts of (x, y) pairs, x across, y down
            xs = [t.get_text() for t in ax.get_xticklabels()]
            ys = [t.get_text() for t in ax.get_yticklabels()]
            matrix = ax.get_images()[0].get_array()
            counts = {(xs[j], ys[i]): matrix[i][j] for i in range(len(ys)) for j in range(len(xs))}
            for (a, p), n in counts.items():
                assert n == sum(1 for r in rows if (r[x], r[y]) == (a, p)), (plot_id, a, p)
            assert sum(counts.values()) == len(rows)
        elif ax.patches:  # horizontal bars: a y category's bar as long as its x value
            labels = [t.get_text() for t in ax.get_yticklabels()]
            assert sorted((labels[round(b.get_y() + b.get_height() / 2)], b.get_width())
                          for b in ax.patches) == sorted((r[y], float(r[x])) for r in rows)
        else:
            if ax.get_lines():
                (line,) = ax.get_lines()
                xy = list(zip(line.get_xdata(), line.get_ydata()))
            else:  # a scatter plot
                xy = [tuple(p) for p in ax.collections[0].get_offsets()]
            assert xy == [(float(r[x]), float(r[y])) for r in rows], plot_id
            assert (ax.get_xlabel(), ax.get_ylabel()) == (x, y)


def project_with(tmp_path: Path) -> Path:
    project = make_project(tmp_path / "project", **{"train.epochs": 2})
    shutil.copy(REPO / "dvc.yaml", project / "dvc.yaml")
    return project


@pytest.mark.slow
def test_plots_of_a_real_pipeline_run_are_drawn_with_the_data_dvc_reads(tmp_path, drawn, monkeypatch):
    project = project_with(tmp_path)
    for name in ("prepare", "train", "evaluate"):
        ok(stage(name, project))
    monkeypatch.chdir(project)
    assert main(["plot", "--dvc", "-o", "offline"]) == 0
    assert_same_data_as_dvc(project, project / "offline", drawn)
    assert len(drawn) == 8  # 7 training curves and the confusion matrix (the PNG is copied)


def test_plots_written_by_the_stages_own_code_are_drawn_with_the_data_dvc_reads(tmp_path, drawn, monkeypatch):
    project = project_with(tmp_path)
    monkeypatch.chdir(project)
    sys.path.insert(0, str(project))
    try:
        from stages.common import CONFUSION_JSON
        from stages.reports import confusion_records, write_json
    finally:
        sys.path.remove(str(project))
    with exptrack.init(experiment="digits", backends="local,dvc") as run:  # the train stage's backends
        for step in (1, 2, 3):
            run.log({"val_acc": 0.5 + step / 10, "train_loss": 1 / step}, step=step)
    write_json(CONFUSION_JSON, confusion_records([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"]))
    assert main(["plot", "--dvc"]) == 0
    out = project / "dvc_plots_offline"
    assert_same_data_as_dvc(project, out, drawn)
    ax = drawn[(out / "plots/train/val_acc.tsv.png").as_posix()].axes[0]
    lo, hi = ax.get_xlim()
    assert [t for t in ax.get_xticks() if lo <= t <= hi] == [1.0, 2.0, 3.0]  # integer steps


def test_plot_dvc_names_declared_files_not_written_yet_and_draws_the_rest(tmp_path, monkeypatch, capsys):
    project = project_with(tmp_path)
    monkeypatch.chdir(project)
    with exptrack.init(experiment="digits", backends="local,dvc") as run:
        run.log({"val_acc": 0.9}, step=1)
    assert main(["plot", "--dvc"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [l.split()[2] for l in err] == ["plots/eval/confusion.json", "plots/eval/confusion.png"]
    assert all("does not exist yet" in l for l in err)
    shutil.rmtree(project / "dvc_plots_offline")
    assert main(["plot", "--dvc", "val_acc"]) == 0  # only that metric's plot
    assert sorted(p.name for p in (project / "dvc_plots_offline").rglob("*.png")) == ["val_acc.tsv.png"]


def test_the_top_level_plots_section_is_read_as_dvc_reads_it(tmp_path, drawn, monkeypatch):
    (tmp_path / "dvc.yaml").write_text(
        "stages: {}\n"
        "plots:\n"
        "  - curves/loss.csv\n"                                   # no x: rows are numbered
        "  - curves/points.json: {x: lr, y: acc, template: scatter}\n"
        "  - curves/classes.json: {x: f1, y: class, template: bar_horizontal}\n")
    (tmp_path / "curves").mkdir()
    (tmp_path / "curves/loss.csv").write_text("epoch,loss\n1,0.9\n2,0.5\n3,0.25\n")
    (tmp_path / "curves/points.json").write_text(json.dumps(
        [{"lr": 0.1, "acc": 0.5}, {"lr": 0.01, "acc": 0.9}, {"lr": 0.001, "acc": 0.7}]))
    (tmp_path / "curves/classes.json").write_text(json.dumps(
        {"per_class": [{"class": "cat", "f1": 0.8}, {"class": "dog", "f1": 0.6}]}))  # a list inside
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "--dvc", "-o", "png"]) == 0
    assert_same_data_as_dvc(tmp_path, tmp_path / "png", drawn)
    assert len(drawn) == 3


@pytest.mark.parametrize("args,where,fragment", [
    (["plot", "--dvc"], "empty", "no dvc.yaml in"),
    (["plot", "--dvc"], "project", "no DVC plots to draw"),
    (["plot"], "empty", "plot needs a METRIC"),
    (["plot", "--dvc", "--experiment", "digits"], "project", "leave out RUN_ID, --experiment"),
])
def test_plot_dvc_bad_input_is_one_line(tmp_path, args, where, fragment):
    cwd = project_with(tmp_path) if where == "project" else tmp_path
    before = sorted(p for p in cwd.rglob("*"))
    assert_one_line_error(run_cli(*args, cwd=cwd), fragment)
    assert sorted(p for p in cwd.rglob("*")) == before
