"""The search space: W&B parameter specs, their sampling semantics, and grids."""

import math
import random

import pytest

from exptrack_core.sweep.space import DISTRIBUTIONS, ParamSpace, SweepConfigError


def spec(body, name="p"):
    return ParamSpace.parse({name: body})[name]


def draws(body, n=400, seed=0):
    s, rng = spec(body), random.Random(seed)
    return [s.sample(rng) for _ in range(n)]


def test_min_max_of_ints_is_int_uniform_and_of_floats_is_uniform():
    assert spec({"min": 1, "max": 8}).distribution == "int_uniform"
    assert spec({"min": 1, "max": 8.0}).distribution == "uniform"
    assert spec({"values": [1, 2]}).distribution == "categorical"
    assert spec({"values": [1, 2], "probabilities": [0.5, 0.5]}).distribution == \
        "categorical_w_probabilities"
    assert spec({"value": 3}).distribution == "constant"


def test_every_wandb_distribution_is_known():
    assert set(DISTRIBUTIONS) >= {
        "constant", "categorical", "int_uniform", "uniform", "q_uniform", "log_uniform",
        "log_uniform_values", "q_log_uniform", "q_log_uniform_values", "inv_log_uniform",
        "inv_log_uniform_values", "normal", "q_normal", "log_normal", "q_log_normal", "beta",
        "q_beta"}


def test_defaults_match_wandb_q_1_mu_0_sigma_1_a_b_1():
    assert spec({"distribution": "q_uniform", "min": 0, "max": 9}).q == 1.0
    normal = spec({"distribution": "normal"})
    assert (normal.mu, normal.sigma) == (0.0, 1.0)
    beta = spec({"distribution": "q_beta"})
    assert (beta.a, beta.b, beta.q) == (1.0, 1.0, 1.0)


def test_int_uniform_covers_both_ends_with_ints():
    values = draws({"min": 1, "max": 3})
    assert set(values) == {1, 2, 3} and all(type(v) is int for v in values)


def test_log_uniform_takes_exponents_but_log_uniform_values_takes_values():
    exps = draws({"distribution": "log_uniform", "min": 0, "max": 2})
    assert all(1 <= v <= math.exp(2) for v in exps)
    vals = draws({"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1})
    assert all(1e-4 <= v <= 1e-1 for v in vals)
    decades = [sum(10 ** -(k + 1) <= v < 10 ** -k for v in vals) for k in (1, 2, 3)]
    assert min(decades) > 80  # about a third of the draws in each decade


def test_inv_log_uniform_is_exp_of_minus_a_uniform_exponent():
    vals = draws({"distribution": "inv_log_uniform", "min": 1, "max": 3})
    assert all(math.exp(-3) <= v <= math.exp(-1) for v in vals)
    inv = draws({"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1})
    assert all(0.01 <= v <= 1 for v in inv)


def test_quantized_draws_are_multiples_of_q_and_ints_for_an_int_q():
    floats = draws({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.1})
    assert all(abs(v * 10 - round(v * 10)) < 1e-9 for v in floats)
    assert 0.3 in floats  # not 0.30000000000000004
    ints = draws({"distribution": "q_log_uniform_values", "min": 1, "max": 256, "q": 8})
    assert all(type(v) is int and v % 8 == 0 for v in ints)


def test_normal_and_log_normal_use_mu_and_sigma():
    vals = draws({"distribution": "normal", "mu": 5, "sigma": 2}, n=2000)
    assert abs(sum(vals) / len(vals) - 5) < 0.2
    logs = draws({"distribution": "log_normal", "mu": 0, "sigma": 0.5}, n=2000)
    assert all(v > 0 for v in logs)
    assert abs(sorted(logs)[1000] - 1.0) < 0.1  # the median of a log-normal is exp(mu)


def test_beta_stays_in_the_unit_interval():
    vals = draws({"distribution": "beta", "a": 2, "b": 5})
    assert all(0 <= v <= 1 for v in vals) and sum(vals) / len(vals) < 0.4


def test_probabilities_weight_the_values():
    vals = draws({"values": ["a", "b"], "probabilities": [0.9, 0.1]}, n=1000)
    assert 850 < vals.count("a") < 950


def test_nested_blocks_and_dotted_keys_give_the_same_names():
    space = ParamSpace.parse({
        "optimizer": {"parameters": {"lr": {"values": [0.1]}, "nadam": {"parameters": {
            "beta": {"value": 0.9}}}}},
        "train.epochs": {"value": 3}})
    assert space.names == ["optimizer.lr", "optimizer.nadam.beta", "train.epochs"]
    assert space.constants == {"optimizer.nadam.beta": 0.9, "train.epochs": 3}


def test_grid_enumerates_values_int_ranges_and_q_steps_first_parameter_slowest():
    space = ParamSpace.parse({"a": {"values": ["x", "y"]}, "b": {"min": 1, "max": 2},
                              "c": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.5},
                              "d": {"value": 7}})
    grid = list(space.iter_grid())
    assert space.grid_size() == len(grid) == 12
    assert grid[0] == {"a": "x", "b": 1, "c": 0.0, "d": 7}
    assert grid[1] == {"a": "x", "b": 1, "c": 0.5, "d": 7}
    assert grid[-1] == {"a": "y", "b": 2, "c": 1.0, "d": 7}


def test_grid_size_of_a_huge_int_range_is_computed_without_listing_it():
    space = ParamSpace.parse({"a": {"min": 0, "max": 10**9}, "b": {"values": [1, 2]}})
    assert space.grid_size() == 2 * (10**9 + 1)


@pytest.mark.parametrize("body, path, why", [
    ({"min": 0.1, "max": 0.001}, "parameters.lr.max", "not less than max"),
    ({"distribution": "log_uniformm", "min": 1, "max": 2}, "parameters.lr.distribution",
     "unknown distribution"),
    ({"min": 1, "maxx": 2}, "parameters.lr", "cannot tell"),
    ({"min": 1, "max": 2, "step": 1}, "parameters.lr.step", "unknown key"),
    ({"distribution": "log_uniform_values", "min": 0, "max": 1}, "parameters.lr.min", "> 0"),
    ({"values": [1, 2], "probabilities": [0.5, 0.6]}, "parameters.lr.probabilities", "sum to 1"),
    ({"values": []}, "parameters.lr.values", "non-empty"),
    ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}, "parameters.lr.q", "> 0"),
    ({"min": "a lot", "max": 2}, "parameters.lr.min", "not a finite number"),
    ({"distribution": "int_uniform", "min": 1.5, "max": 3}, "parameters.lr.min", "integer"),
])
def test_a_bad_parameter_names_its_path_and_the_reason(body, path, why):
    with pytest.raises(SweepConfigError) as err:
        ParamSpace.parse({"lr": body})
    assert err.value.path == path and why in str(err.value)


def test_a_yaml_1e_minus_4_string_is_read_as_a_number():
    assert spec({"distribution": "log_uniform_values", "min": "1e-4", "max": "1e-1"}).min == 1e-4


def test_a_continuous_range_cannot_be_a_grid():
    with pytest.raises(SweepConfigError, match="continuous range") as err:
        ParamSpace.parse({"lr": {"min": 0.0, "max": 1.0}}).grid_size()
    assert err.value.path == "parameters.lr"


def test_a_name_defined_twice_is_refused_but_a_value_beside_its_dotted_key_is_not():
    with pytest.raises(SweepConfigError, match="defined twice"):
        ParamSpace.parse({"train.lr": {"value": 1}, "train": {"parameters": {"lr": {"value": 2}}}})
    # W&B names are opaque: Hydra selects the group `train` and overrides a key inside it
    space = ParamSpace.parse({"train": {"value": "big"}, "train.lr": {"value": 2}})
    assert space.agent_args(space.sample(random.Random(0))) == {"train": "big", "train.lr": 2}
