"""Bad input at the command line: one line naming the bad value and what is accepted, exit code 2,
no traceback, and not one file of the project written or changed (the tree is hashed before and
after). The project already holds runs and a finished sweep, so a stray write would show."""

from __future__ import annotations

import pytest

from ..conftest import assert_one_line_error, run_cli
from ..sweep_helpers import make_project
from .helpers import count, snapshot, tree_diff

PWN = '!!python/object/apply:os.system ["touch pwned"]'
LONG = "x" * 256
GRID_5x10 = "\n".join(f"  p{i}: {{values: [{', '.join(str(v) for v in range(10))}]}}"
                      for i in range(5))  # 100,000 points, over the 10,000 limit
# 9 levels of 9 aliases in ~300 bytes: 9**9 values once expanded (27 s and 2.9 GB before the limit)
BOMB = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

INPUTS = {
    "broken.yaml": "train: [0.1, 0.2\nsweep: {}\n",
    "list.yaml": "- train\n- sweep\n",
    "tagged_params.yaml": f"train:\n  lr: {PWN}\nsweep: {{method: grid, parameters: {{x: {{values: [1]}}}}}}\n",
    "tagged_sweep.yaml": f"method: random\nparameters:\n  lr: {PWN}\n",
    "unknown_method.yaml": "method: annealing\nparameters: {x: {values: [1, 2]}}\n",
    "unknown_dist.yaml": "method: random\nparameters: {lr: {distribution: loguniform, min: 0.1, max: 1}}\n",
    "min_gt_max.yaml": "method: random\nparameters: {lr: {min: 1.0, max: 0.1}}\n",
    "eta_one.yaml": ("method: random\nmetric: {name: val_acc}\nparameters: {lr: {min: 0.1, max: 1}}\n"
                     "early_terminate: {type: hyperband, min_iter: 1, eta: 1}\n"),
    "eta_half.yaml": ("method: random\nmetric: {name: val_acc}\nparameters: {lr: {min: 0.1, max: 1}}\n"
                      "early_terminate: {type: hyperband, min_iter: 1, eta: 0.5}\n"),
    "unknown_stopper.yaml": ("method: random\nmetric: {name: val_acc}\nparameters: {lr: {min: 0.1, max: 1}}\n"
                             "early_terminate: {type: patient}\n"),
    "grid_continuous.yaml": "method: grid\nparameters: {lr: {min: 0.001, max: 0.1}}\n",
    "empty_params.yaml": "method: random\nparameters: {}\n",
    "huge_grid.yaml": f"method: grid\nprogram: train.py\nparameters:\n{GRID_5x10}\n",
    "bomb_params.yaml": BOMB,
    "bomb_sweep.yaml": BOMB + "method: grid\nparameters:\n  x: {values: *i}\n",
    "escaping_name.yaml": "name: ../../outside\nmethod: grid\nparameters: {x: {values: [1]}}\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with runs and a finished sweep in it, and the bad files a user might write."""
    root = make_project(tmp_path_factory.mktemp("project"))
    run_cli("sweep", "--trials", "2", "-S", "train.epochs=1", "--quiet", cwd=root, check=True)
    for name, text in INPUTS.items():
        (root / name).write_text(text)
    return root


CASES = [
    # params.yaml / -S overrides
    (["sweep", "--params", "broken.yaml"], ["broken.yaml", "not valid YAML", "line 2"]),
    (["sweep", "--params", "list.yaml"], ["list.yaml", "must be a YAML mapping", "got list"]),
    (["sweep", "-S", "train.lr"], ["invalid override 'train.lr'", "KEY=VALUE"]),
    (["sweep", "-S", "=0.1"], ["invalid override '=0.1'", "empty"]),
    (["sweep", "-S", "train..lr=0.1"], ["invalid override 'train..lr=0.1'", "empty part"]),
    (["sweep", "-S", "train.lrr=0.1"], ["'train.lrr'", "train.lr", "+train.lrr"]),
    (["sweep", "-S", f"train.lr={PWN}"], ["train.lr=", "grammar of dvc exp run -S", "python/object/apply"]),
    (["sweep", "--params", "tagged_params.yaml"], ["tagged_params.yaml", "python/object/apply"]),
    (["sweep", "--config", "tagged_sweep.yaml"], ["tagged_sweep.yaml", "python/object/apply"]),
    (["sweep", "--dry-run", "--params", "bomb_params.yaml"], ["bomb_params.yaml", "aliases",
                                                              "100,000"]),
    (["sweep", "--dry-run", "--config", "bomb_sweep.yaml"], ["bomb_sweep.yaml", "aliases"]),
    (["sweep", "--dry-run", "-S", "train.lr=interval(0.1,0.2)"], ["train.lr=interval(0.1,0.2)",
                                                                  "continuous", "range("]),
    (["sweep", "--dry-run", "-S", "train.lr=range(1,1)"], ["train.lr=range(1,1)", "no values"]),
    (["sweep", "--dry-run", "-S", "~train.lr"], ["~train.lr", "deletes a key", "params.yaml"]),
    (["sweep", "--dry-run", "-S", "+api_key=a,b"], ["api_key", "secret-named", "one value"]),
    (["sweep", "--executor", "dvc", "-S", "+api_key=SECRET"], ["-S api_key", "--executor dvc",
                                                                "commit this secret"]),
    (["sweep", "--dry-run", "--method", "random", "-S", "train.epochs=1,2"],
     ["grid of 2 points", "random", "--trials N"]),
    (["sweep", "-S", "+train.lr=0.1"], ["+train.lr=0.1", "already at 'train.lr'"]),
    # sweep configs
    (["sweep", "--config", "unknown_method.yaml"], ["unknown method 'annealing'", "grid", "random"]),
    (["sweep", "--method", "annealing"], ["unknown method 'annealing'", "bayes", "grid"]),
    (["sweep", "--config", "unknown_dist.yaml"], ["'loguniform'", "log_uniform_values"]),
    (["sweep", "--config", "min_gt_max.yaml"], ["parameters.lr.max", "min 1.0 is not less than max 0.1"]),
    (["sweep", "--config", "eta_one.yaml"], ["early_terminate.eta", "> 1", "got 1"]),
    (["sweep", "--config", "eta_half.yaml"], ["early_terminate.eta", "> 1", "got 0.5"]),
    (["sweep", "--config", "unknown_stopper.yaml"], ["'patient'", "hyperband", "median"]),
    (["sweep", "--config", "grid_continuous.yaml"], ["parameters.lr", "grid", "values:"]),
    (["sweep", "--config", "empty_params.yaml"], ["parameters", "at least one parameter", "{}"]),
    (["sweep", "--config", "huge_grid.yaml"], ["100,000 points", "10,000", "--yes"]),
    (["sweep", "--config", "no_such.yaml"], ["no_such.yaml", "does not exist"]),
    (["sweep", "--trials", "0"], ["--trials 0", "positive integer"]),
    (["sweep", "--max-failures", "0"], ["--max-failures 0", "positive integer"]),
    (["sweep", "--workers", "0"], ["--workers 0", "positive integer"]),
    # plugin names
    (["sweep", "--backend", "local,mlflw"], ["unknown backend 'mlflw'", "local", "console"]),
    (["sweep", "--executor", "slurm"], ["unknown executor 'slurm'", "local"]),
    # names that would become paths
    (["sweep", "--experiment", "../outside"], ["invalid experiment name '../outside'", "'..'"]),
    (["sweep", "--experiment", "/tmp/outside"], ["invalid experiment name '/tmp/outside'",
                                                 "path separator"]),
    (["sweep", "--experiment", LONG], ["invalid experiment name", "255 bytes"]),
    (["sweep", "--config", "escaping_name.yaml", "--experiment", "../../outside"],
     ["invalid experiment name '../../outside'"]),
    (["runs", ".."], ["invalid experiment name '..'"]),
    (["runs", "/etc"], ["invalid experiment name '/etc'"]),
    (["runs", LONG], ["255 bytes"]),
    (["compare", "../toy"], ["'../toy'"]),
    (["show", "../../etc/passwd"], ["unknown run id '../../etc/passwd'", "available"]),
    (["show", "/etc/passwd"], ["unknown run id '/etc/passwd'"]),
    (["show", LONG], ["unknown run id"]),
    (["plot", "val_acc", "../x", "-o", "x.png"], ["unknown run id '../x'"]),
    (["promote", "../x"], ["unknown sweep '../x'"]),
    (["sweep", "--resume", "../../x"], ["unknown sweep '../../x'"]),
    # metrics
    (["best", "--metric", "val_ac"], ["unknown metric 'val_ac'", "val_acc", "epoch"]),
    (["compare", "--sort-by", "acc"], ["unknown metric 'acc'", "val_acc"]),
    (["plot", "acc", "-o", "x.png"], ["unknown metric 'acc'", "val_acc"]),
]


@pytest.mark.parametrize("args,fragments", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_no_file(project, args, fragments):
    before = snapshot(project)
    proc = run_cli(*args, cwd=project)
    count("bad inputs")
    assert_one_line_error(proc, *fragments)
    assert tree_diff(before, snapshot(project)) == []
    assert not (project / "pwned").exists() and not (project / "outside").exists()


def test_a_grid_over_the_limit_is_accepted_with_yes_in_a_dry_run(project):
    before = snapshot(project)
    proc = run_cli("sweep", "--config", "huge_grid.yaml", "--yes", "--dry-run", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "grid of 100000 points" in proc.stdout and "dry run: nothing was started" in proc.stdout
    assert tree_diff(before, snapshot(project)) == []
