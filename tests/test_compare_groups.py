"""`exptrack compare --group-by / --baseline`: n, mean ± std, 95% CI and t-tests, checked against scipy."""

from __future__ import annotations

import json
import random

import pytest
from scipy import stats as scipy_stats

import exptrack
from exptrack_core import stats

from .conftest import assert_one_line_error, run_cli
from .test_sweep_seeds import PARAMS, TRAIN

# The guide's numbers (002: "Statistical Significance")
BASELINE = [0.80, 0.81, 0.79, 0.82, 0.80]
NEW_METHOD = [0.83, 0.84, 0.82, 0.85, 0.83]


def _samples():
    rng = random.Random(7)
    yield BASELINE, NEW_METHOD
    for n, m in ((2, 2), (3, 5), (8, 4), (30, 30)):
        yield [rng.gauss(0.8, 0.05) for _ in range(n)], [rng.gauss(0.82, 0.1) for _ in range(m)]


@pytest.mark.parametrize("a, b", list(_samples()))
def test_the_statistics_are_scipys_on_the_same_numbers(a, b):
    s = stats.describe(a)
    low, high = scipy_stats.t.interval(0.95, len(a) - 1, loc=scipy_stats.tmean(a),
                                       scale=scipy_stats.sem(a))
    assert (s.n, s.mean, s.std) == (len(a), pytest.approx(sum(a) / len(a)),
                                    pytest.approx(scipy_stats.tstd(a)))
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert stats.welch(a, b) == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    k = min(len(a), len(b))
    assert stats.paired(a[:k], b[:k]) == pytest.approx(scipy_stats.ttest_rel(a[:k], b[:k]).pvalue)


@pytest.fixture(scope="module")
def seeded_project(tmp_path_factory):
    """One seeded sweep (2 x 2 configurations, 3 seeds each) that every test here only reads."""
    root = tmp_path_factory.mktemp("seeded")
    (root / "train.py").write_text(TRAIN)
    (root / "params.yaml").write_text(PARAMS)
    env = {"EXPTRACK_DIR": str(root / "experiments")}
    run_cli("sweep", "--quiet", cwd=root, env=env, check=True)
    return root, json.loads(run_cli("sweeps", "--json", cwd=root, env=env,
                                    check=True).stdout)[0]["sweep_id"]


@pytest.fixture
def seeded(seeded_project, monkeypatch):
    root, sweep_id = seeded_project
    monkeypatch.chdir(root)
    monkeypatch.setenv("EXPTRACK_DIR", str(root / "experiments"))
    return sweep_id


def _values(lr, wd, seeds=(0, 1, 2)):
    runs = exptrack.ExperimentTracker().list_runs("seeded")
    by_seed = {r["params"]["train"]["seed"]: r["summary"]["val_acc"]["last"] for r in runs
               if (r["params"]["train"]["lr"], r["params"]["train"]["wd"]) == (lr, wd)}
    return [by_seed[s] for s in seeds]


def test_compare_of_a_seeded_sweep_groups_by_everything_but_the_seed(seeded):
    rows = json.loads(run_cli("compare", "--sweep", seeded, "--format", "json", check=True).stdout)
    assert sorted((r["train.lr"], r["train.wd"], r["n"]) for r in rows) == \
        [(0.01, 0.0, 3), (0.01, 0.1, 3), (0.1, 0.0, 3), (0.1, 0.1, 3)]
    means = [r["val_acc mean"] for r in rows]
    assert means == sorted(means, reverse=True) and rows[0]["train.lr"] == 0.01  # best mean first
    for row in rows:
        values = _values(row["train.lr"], row["train.wd"])
        low, high = scipy_stats.t.interval(0.95, 2, loc=scipy_stats.tmean(values),
                                           scale=scipy_stats.sem(values))
        assert row["val_acc mean"] == pytest.approx(sum(values) / 3)
        assert row["val_acc std"] == pytest.approx(scipy_stats.tstd(values))
        assert (row["val_acc ci95_low"], row["val_acc ci95_high"]) == (pytest.approx(low),
                                                                      pytest.approx(high))
    table = run_cli("compare", "--sweep", seeded, check=True).stdout
    assert "val_acc mean ± std" in table and "val_acc 95% CI" in table
    top = json.loads(run_cli("compare", "--sweep", seeded, "--limit", "2", "--format", "json",
                             check=True).stdout)
    assert [(r["train.lr"], r["n"]) for r in top] == [(r["train.lr"], 3) for r in rows[:2]]


def test_a_baseline_that_shares_the_seeds_is_compared_with_a_paired_t_test(seeded):
    proc = run_cli("compare", "--sweep", seeded, "--baseline", "train.lr=0.01,train.wd=0",
                   "--format", "json", check=True)
    rows = {(r["train.lr"], r["train.wd"]): r for r in json.loads(proc.stdout)}
    assert rows[(0.01, 0.0)]["test"] == "baseline" and rows[(0.01, 0.0)]["val_acc p"] is None
    base = _values(0.01, 0.0)
    for key in ((0.1, 0.0), (0.01, 0.1), (0.1, 0.1)):
        assert rows[key]["test"] == "paired t"
        assert rows[key]["val_acc p"] == pytest.approx(
            scipy_stats.ttest_rel(_values(*key), base).pvalue)
    table = run_cli("compare", "--sweep", seeded, "--baseline", "train.lr=0.01,train.wd=0",
                    check=True).stdout
    assert "paired t" in table and "val_acc p" in table


def test_groups_that_do_not_share_seeds_are_compared_with_welchs_t_test(seeded):
    # grouped by lr alone, each group holds seeds 0, 1, 2 twice: no run-to-run pairing exists
    proc = run_cli("compare", "--group-by", "train.lr", "--baseline", "train.lr=0.1",
                   "--format", "json", check=True)
    rows = {r["train.lr"]: r for r in json.loads(proc.stdout)}
    assert rows[0.01]["n"] == 6 and rows[0.01]["test"] == "Welch t"
    a = _values(0.01, 0.0) + _values(0.01, 0.1)
    b = _values(0.1, 0.0) + _values(0.1, 0.1)
    assert rows[0.01]["val_acc p"] == pytest.approx(
        scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)


@pytest.mark.parametrize("args, fragments", [
    (["--group-by", "train.nope"], ["train.nope"]),
    (["--baseline", "train.lr=0.5"], ["train.lr=0.5", "matches 0 groups"]),
    (["--baseline", "lr"], ["--baseline 'lr'", "KEY=VALUE"]),
])
def test_bad_groups_and_baselines_are_one_line_errors(seeded, args, fragments):
    assert_one_line_error(run_cli("compare", "--sweep", seeded, *args), *fragments)


def test_a_baseline_without_groups_is_refused(seeded):
    assert_one_line_error(run_cli("compare", "--baseline", "train.lr=0.1"), "--group-by")
