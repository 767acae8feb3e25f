"""`exptrack sweep -S train.lr=0.1,0.01` means what `dvc exp run --queue -S train.lr=0.1,0.01`
means: DVC's own expansion (`dvc.utils.hydra.get_hydra_sweeps`, then `apply_overrides` for each
queued experiment) and exptrack's give the same params for the same points in the same order, and
refuse the same command lines (issue 10, section 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import exptrack
from exptrack_core.errors import ExptrackError
from exptrack_core.params import apply_overrides, read_yaml_mapping
from exptrack_core.sweep.setgrid import fixed_grid

from .conftest import run_cli
from .sweep_helpers import make_project
from .test_dvc_overrides import BASE, typed

dvc_hydra = pytest.importorskip("dvc.utils.hydra")

CORPUS = Path(__file__).parent / "data" / "dvc_sweep_overrides.txt"
LINES = [line.split("\t") for line in CORPUS.read_text(encoding="utf-8").splitlines()
         if not line.startswith("# ")]


def dvc_queues(tmp_path, overrides):
    """The params.yaml of each experiment `dvc exp run --queue -S ...` queues."""
    try:
        sweeps = dvc_hydra.get_hydra_sweeps({"params.yaml": overrides})
        points = []
        for i, sweep in enumerate(sweeps):
            path = tmp_path / f"dvc{i}" / "params.yaml"
            path.parent.mkdir()
            path.write_text(BASE, encoding="utf-8")
            dvc_hydra.apply_overrides(str(path), sweep["params.yaml"])
            points.append(typed(read_yaml_mapping(path)))
    except Exception as exc:  # DVC lets Hydra's own errors through as they are
        return "error", type(exc).__name__
    return "ok", points


def exptrack_runs(tmp_path, overrides):
    """The params.yaml each trial of `exptrack sweep -S ...` reads (load_params applies the
    trial's flat params onto the project's file, as EXPTRACK_PARAMS carries them)."""
    path = tmp_path / "params.yaml"
    path.write_text(BASE, encoding="utf-8")
    base = read_yaml_mapping(path)
    try:
        fixed, points = fixed_grid(overrides, path)
    except ExptrackError as exc:
        assert "\n" not in str(exc), "the refusal is one line"
        return "error", str(exc)
    return "ok", [typed(apply_overrides(base, {**fixed, **p}, strict=False)) for p in points or [{}]]


# Where exptrack refuses, in one line, what DVC queues, and why.
REFUSED = {
    ("seed=range(1,1)",): "DVC queues nothing and says nothing",
    ("seed=1,2", "~train.opt"): "a trial gets its params on top of params.yaml: it cannot delete",
    ("~seed", "name=a,b"): "a trial gets its params on top of params.yaml: it cannot delete",
    ("name={},{a:1}",): "a trial's flat params cannot turn the value 'name' into a section",
}


def once(points):
    """DVC queues `seed=1,1` twice; exptrack runs an identical point once (documented)."""
    out = []
    for p in points:
        if p not in out:
            out.append(p)
    return out


def test_the_sweep_corpus_is_large_enough_to_mean_something():
    assert len(LINES) >= 80 and len({tuple(line) for line in LINES}) == len(LINES)


@pytest.mark.parametrize("overrides", LINES, ids=repr)
def test_exptrack_expands_sweep_values_as_dvc_exp_run_queue_does(tmp_path, overrides):
    dvc_kind, dvc_result = dvc_queues(tmp_path, overrides)
    ours_kind, ours_result = exptrack_runs(tmp_path, overrides)
    if tuple(overrides) in REFUSED:
        assert (dvc_kind, ours_kind) == ("ok", "error"), (dvc_result, ours_result)
        return
    assert ours_kind == dvc_kind, (dvc_result, ours_result)
    if dvc_kind == "ok":
        expected = once(dvc_result)
        if any("shuffle(" in o for o in overrides):  # a random order, each time, in both
            key = lambda p: json.dumps(p, sort_keys=True)  # noqa: E731
            expected, ours_result = sorted(expected, key=key), sorted(ours_result, key=key)
        assert ours_result == expected


def test_a_grid_sweep_runs_the_sweep_file_grid_under_each_dash_s_point(workdir):
    make_project(workdir)
    proc = run_cli("sweep", "--quiet", "-S", "train.epochs=1,2", "-S", "train.sleep=0", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "completed: 12 completed" in proc.stdout
    runs = exptrack.ExperimentTracker().list_runs("toy")
    combos = sorted((r["params"]["train"]["epochs"], r["params"]["train"]["lr"],
                     r["params"]["train"]["wd"]) for r in runs)
    assert combos == sorted((e, lr, wd) for e in (1, 2) for lr in (0.001, 0.01, 0.1)
                            for wd in (0.0, 0.1))


def test_a_random_sweep_runs_its_trials_under_each_point_as_dry_run_showed(workdir):
    make_project(workdir)
    args = ["sweep", "--method", "random", "--trials", "2", "--seed", "4",
            "-S", "train.epochs=choice(1,2)"]
    dry = run_cli(*args, "--dry-run", cwd=workdir)
    assert dry.returncode == 0, dry.stderr
    assert "-S grid: 2 points over train.epochs, each running the sweep's random search: 4 trials" \
        in dry.stdout
    shown = [line.split()[1:] for line in dry.stdout.splitlines() if line.startswith("  t00")]
    assert len(shown) == 4 and shown[0][:2] == shown[2][:2]  # same seed: the same draws per point
    real = run_cli(*args, "--quiet", cwd=workdir)
    assert real.returncode == 0, real.stderr
    runs = sorted(exptrack.ExperimentTracker().list_runs("toy"), key=lambda r: r["trial_id"])
    ran = [[f"train.lr={r['params']['train']['lr']:g}", f"train.wd={r['params']['train']['wd']:g}",
            f"train.epochs={r['params']['train']['epochs']}"] for r in runs]
    assert ran == [s[:3] for s in shown]


def test_a_random_search_under_a_dash_s_grid_needs_a_trial_count(workdir):
    make_project(workdir)
    proc = run_cli("sweep", "--method", "random", "-S", "train.epochs=1,2", cwd=workdir)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "exptrack: error: -S defines a grid of 2 points and method random runs each point until "
        "run_cap, which this sweep does not set: give --trials N (trials per -S point)"]
    assert not (workdir / "experiments").exists()


def test_a_dash_s_value_that_overrides_a_sweep_constant_runs_the_grid_once(workdir):
    make_project(workdir)
    params = (workdir / "params.yaml").read_text()
    (workdir / "params.yaml").write_text(params.replace(
        "    train.wd: {values: [0.0, 0.1]}", "    train.wd: {values: [0.0, 0.1]}\n"
        "    train.epochs: {value: 3}"))
    proc = run_cli("sweep", "--quiet", "--trials", "20", "-S", "train.epochs=1", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "completed: 6 completed (search space exhausted)" in proc.stdout


def test_a_resumed_sweep_keeps_its_dash_s_grid(workdir):
    make_project(workdir)
    first = run_cli("sweep", "--quiet", "--trials", "1", "-S", "train.epochs=1,2", cwd=workdir)
    assert "completed: 2 completed (run_cap reached)" in first.stdout, first.stderr
    sweep_id = next((workdir / "experiments" / "_sweeps").iterdir()).name
    resumed = run_cli("sweep", "--quiet", "--resume", sweep_id, "--trials", "3", cwd=workdir)
    assert "completed: 6 completed (run_cap reached)" in resumed.stdout, resumed.stderr
    epochs = [r["params"]["train"]["epochs"] for r in exptrack.ExperimentTracker().list_runs("toy")]
    assert sorted(epochs) == [1, 1, 1, 2, 2, 2]  # run_cap counts per -S point
