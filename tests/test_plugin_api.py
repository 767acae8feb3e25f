"""The public module for plugin authors, ``exptrack.plugin``: what it offers and what it promises."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest
from scipy import stats

from exptrack.plugin import ExptrackError, ParamSpace, TrialView, check_options
from exptrack_core.sweep.asking import suggest

from .conftest import REPO
from .test_strategies import QUADRATIC, quadratic, strategy

QUANTILES = [0.0, 1e-6, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999999]


def spec(body):
    return ParamSpace.parse({"p": body})["p"]


# --- the inverse CDF, measured against scipy's ---------------------------------------------------

@pytest.mark.parametrize("body, reference", [
    ({"min": -2.0, "max": 3.0}, stats.uniform(-2, 5)),
    ({"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
     stats.loguniform(1e-4, 1e-1)),
    ({"distribution": "log_uniform", "min": -3.0, "max": 1.0},
     stats.loguniform(math.exp(-3), math.exp(1))),
    ({"distribution": "normal", "mu": 1.0, "sigma": 2.0}, stats.norm(1, 2)),
    ({"distribution": "log_normal", "mu": -1.0, "sigma": 0.5}, stats.lognorm(0.5, scale=math.exp(-1))),
    ({"distribution": "beta", "a": 2.0, "b": 5.0}, stats.beta(2, 5)),
    ({"distribution": "beta", "a": 0.4, "b": 0.6}, stats.beta(0.4, 0.6)),
])
def test_ppf_of_each_continuous_distribution_matches_scipy(body, reference):
    s = spec(body)
    # an unbounded distribution has no 0-quantile; ppf(0) gives its 1e-12 one, as sampling does
    for u in QUANTILES if "normal" not in s.distribution else QUANTILES[1:]:
        assert s.ppf(u) == pytest.approx(float(reference.ppf(u)), rel=1e-7, abs=1e-9), u


def test_ppf_of_discrete_distributions_walks_their_values_in_order():
    assert [spec({"values": ["a", "b", "c"]}).ppf(u) for u in (0.0, 0.34, 0.99)] == ["a", "b", "c"]
    assert [spec({"min": 1, "max": 4}).ppf(u) for u in (0.0, 0.25, 0.5, 0.999)] == [1, 2, 3, 4]
    assert spec({"distribution": "q_uniform", "min": 0, "max": 10, "q": 5}).ppf(0.6) == 5
    assert spec({"value": 7}).ppf(0.3) == 7


def test_ppf_is_what_sample_gives_for_the_same_draw():
    for body in ({"min": 0.0, "max": 1.0}, {"values": [1, 2, 3]},
                 {"distribution": "q_log_uniform_values", "min": 1, "max": 1024, "q": 1},
                 {"distribution": "inv_log_uniform_values", "min": 0.1, "max": 10.0}):
        s = spec(body)
        u = random.Random(3).random()
        assert s.ppf(u) == s.sample(random.Random(3)), body


@pytest.mark.parametrize("u", [1.0, -0.1, "0.5", float("nan")])
def test_ppf_refuses_a_quantile_outside_zero_one(u):
    with pytest.raises(ValueError, match=r"ppf takes a quantile in \[0, 1\)"):
        spec({"min": 0.0, "max": 1.0}).ppf(u)


def test_a_space_maps_one_quantile_per_searchable_parameter_to_a_point():
    space = ParamSpace.parse({"x": {"min": 0.0, "max": 10.0}, "opt": {"values": ["sgd", "adam"]},
                              "epochs": {"value": 3}})
    assert space.ppf({"x": 0.25, "opt": 0.75}) == {"x": 2.5, "opt": "adam", "epochs": 3}


# --- the trial view strategies receive ------------------------------------------------------------

def test_a_trial_view_is_frozen_and_still_reads_like_the_old_dict():
    view = TrialView("t0001", {"lr": 0.1}, "completed", 0.25)
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.status = "failed"
    assert (view["params"], view.get("status"), view["value"]) == ({"lr": 0.1}, "completed", 0.25)
    assert view.get("nope", "default") == "default"
    with pytest.raises(KeyError):
        view["nope"]


# --- suggest(history, trial_id=) -------------------------------------------------------------------

class OldStyle:
    def __init__(self):
        self.seen = None

    def suggest(self, history):
        self.seen = history
        return {"x": len(history)}


class NewStyle(OldStyle):
    def suggest(self, history, *, trial_id):
        self.trial_id = trial_id
        return super().suggest(history)


def test_a_strategy_is_told_the_trial_id_only_if_its_suggest_accepts_one():
    history = [{"trial_id": "t0001", "params": {"x": 0}, "status": "completed", "value": 1.0}]
    old, new = OldStyle(), NewStyle()
    assert suggest(old, history, "t0002") == {"x": 1}
    assert suggest(new, history, "t0002") == {"x": 1} and new.trial_id == "t0002"
    assert old.seen == [TrialView("t0001", {"x": 0}, "completed", 1.0)]  # views, not dicts


def test_bayes_told_the_trial_ids_tells_each_result_to_the_optuna_trial_that_suggested_it():
    bayes = strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 2})
    first = suggest(bayes, [], "t0001")
    second = suggest(bayes, [TrialView("t0001", first, "running")], "t0002")
    history = [TrialView("t0001", first, "completed", quadratic(first)),
               TrialView("t0002", second, "completed", quadratic(second))]
    suggest(bayes, history, "t0003")
    trials = bayes._study.get_trials(deepcopy=False)
    assert [(t.params, t.value) for t in trials[:2]] == [(first, quadratic(first)),
                                                        (second, quadratic(second))]
    assert trials[2].state.name == "RUNNING" and len(trials) == 3 and bayes.rebuilds == 1


# --- options, and the examples use nothing else ----------------------------------------------------

def test_check_options_names_the_kind_of_plugin_that_takes_them():
    with pytest.raises(ExptrackError, match="unknown option 'depth' for method 'halton'; accepted: "
                                            "scramble"):
        check_options("halton", {"depth": 3}, {"scramble": bool}, kind="method")
    assert check_options("halton", {"scramble": "false"}, {"scramble": bool},
                         kind="method") == {"scramble": False}


def test_the_examples_import_exptrack_only_through_exptrack_plugin():
    imports = [line.strip() for path in (REPO / "examples").rglob("*.py")
               for line in path.read_text().splitlines()
               if line.lstrip().startswith(("import exptrack", "from exptrack"))]
    assert imports and all(line.startswith("from exptrack.plugin import") for line in imports)
