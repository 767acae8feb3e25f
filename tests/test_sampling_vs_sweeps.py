"""exptrack's search space samples, counts grids and refuses configs as W&B's `sweeps` library does.

Each distribution is drawn a few thousand times by both (fixed seeds) and compared: a two-sample
Kolmogorov-Smirnov test for continuous ones, a chi-square test on the counts for discrete ones.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from exptrack_core.sweep.space import ParamSpace, SweepConfigError, canonical_value

sweeps = pytest.importorskip("sweeps")
stats = pytest.importorskip("scipy.stats")

N = 4000
CONTINUOUS = {
    "uniform": {"min": -1.0, "max": 2.0},
    "log_uniform": {"min": -5.0, "max": 0.0},
    "log_uniform_values": {"min": 1e-4, "max": 1e-1},
    "inv_log_uniform": {"min": 0.0, "max": 3.0},
    "inv_log_uniform_values": {"min": 1.0, "max": 100.0},
    "normal": {"mu": 1.0, "sigma": 2.0},
    "log_normal": {"mu": 0.0, "sigma": 0.5},
    "beta": {"a": 2.0, "b": 5.0},
}
DISCRETE = {
    "categorical": {"values": ["a", "b", "c", 4]},
    "categorical_w_probabilities": {"values": ["a", "b", "c"], "probabilities": [0.2, 0.5, 0.3]},
    "int_uniform": {"min": -3, "max": 7},
    "q_uniform": {"min": 0.0, "max": 10.0, "q": 2.5},
    "q_log_uniform": {"min": 0.0, "max": 3.0, "q": 2},
    "q_log_uniform_values": {"min": 1.0, "max": 1000.0, "q": 50},
    "q_normal": {"mu": 0.0, "sigma": 3.0, "q": 1},
    "q_log_normal": {"mu": 1.0, "sigma": 0.7, "q": 1},
    "q_beta": {"a": 2.0, "b": 5.0, "q": 0.1},
}


def body(distribution: str, extra: dict) -> dict:
    if distribution == "categorical_w_probabilities":
        return dict(extra)  # W&B infers it; an explicit categorical with probabilities is refused
    return {"distribution": distribution, **extra}


def draws(distribution: str, extra: dict) -> tuple[list, list]:
    """N draws from exptrack's spec and N from the sweeps library's HyperParameter."""
    from sweeps.params import HyperParameter

    spec = ParamSpace.parse({"x": body(distribution, extra)})["x"]
    rng = random.Random(11)
    ours = [spec.sample(rng) for _ in range(N)]
    hp = HyperParameter("x", body(distribution, extra))
    random.seed(23)  # the sweeps library samples with the random module
    theirs = [hp.sample() for _ in range(N)]
    return ours, [t.item() if hasattr(t, "item") else t for t in theirs]


@pytest.mark.parametrize("distribution", sorted(CONTINUOUS))
def test_a_continuous_distribution_draws_like_the_sweeps_library(distribution):
    ours, theirs = draws(distribution, CONTINUOUS[distribution])
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


def same(value) -> str:
    """One key for a value: W&B's 0.30000000000000004 and exptrack's 0.3 (README) are one point."""
    return f"{value:.9g}" if isinstance(value, float) else canonical_value(value)


@pytest.mark.parametrize("distribution", sorted(DISCRETE))
def test_a_discrete_distribution_draws_like_the_sweeps_library(distribution):
    ours, theirs = draws(distribution, DISCRETE[distribution])
    a, b = Counter(map(same, ours)), Counter(map(same, theirs))
    support = sorted(set(a) | set(b))
    # pool rare values so that every cell of the table expects a fair count
    common = [v for v in support if a[v] + b[v] >= 20]
    table = [[a[v] for v in common] + [sum(a[v] for v in support if v not in common)],
             [b[v] for v in common] + [sum(b[v] for v in support if v not in common)]]
    table = [row for row in zip(*table) if sum(row) > 0]
    assert set(a) <= set(b) | {v for v in a if a[v] < 5}, "exptrack draws values W&B never does"
    assert stats.chi2_contingency(list(zip(*table))).pvalue > 1e-3


def test_int_uniform_with_a_negative_min_draws_min_as_often_as_any_other_value():
    spec = ParamSpace.parse({"x": {"min": -3, "max": 7}})["x"]
    rng = random.Random(0)
    counts = Counter(spec.sample(rng) for _ in range(100_000))
    assert sorted(counts) == list(range(-3, 8))
    assert counts[-3] > 8000 and counts[0] < 10000  # ~9091 each of 11 values


def test_a_grid_over_1_and_1_0_counts_and_runs_the_points_wandbs_grid_runs():
    from sweeps import RunState, next_run

    config = {"method": "grid", "parameters": {"a": {"values": [1, 1.0, 2]}}}
    runs: list = []
    while (run := next_run(config, runs)) is not None:
        run.state = RunState.finished
        runs.append(run)
    space = ParamSpace.parse(config["parameters"])
    ours = list(space.iter_grid())
    assert space.grid_size() == len(ours) == len(runs) == 2
    assert [p["a"] for p in ours] == [r.config["a"]["value"] for r in runs]


@pytest.mark.parametrize("parameter", [
    {"min": 3, "max": 3},
    {"distribution": "int_uniform", "min": 3, "max": 3},
    {"distribution": "uniform", "min": 0.5, "max": 0.5},
    {"distribution": "categorical", "values": [1, 2], "probabilities": [0.5, 0.5]},
])
def test_what_wandbs_schema_refuses_exptrack_refuses(parameter):
    from sweeps.config import fill_validate_schema

    with pytest.raises(Exception):
        fill_validate_schema({"method": "random", "parameters": {"x": parameter}})
    with pytest.raises(SweepConfigError):
        ParamSpace.parse({"x": parameter})
