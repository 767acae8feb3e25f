"""Search strategies: fed a history, asserted on what they suggest next."""

import importlib.metadata as md
import math
import statistics

import pytest

from exptrack_core.errors import ExptrackError
from exptrack_core.plugin.registry import build_registry
from exptrack_core.sweep.config import SweepConfig


def strategy(method, parameters, seed=0, **extra):
    cfg = SweepConfig.parse({"method": method, "metric": {"name": "loss"},
                             "parameters": parameters, **extra})
    eps = [e for e in md.entry_points(group="exptrack") if e.name == "search"]
    return build_registry(eps).strategy(method, cfg.space, cfg.to_dict(), seed)


def done(point, value=None, status="completed", i=0):
    return {"trial_id": str(i), "params": point, "status": status, "value": value}


def run(strat, objective, n, history=None):
    history = list(history or [])
    for i in range(n):
        point = strat.suggest(history)
        if point is None:
            break
        history.append(done(point, objective(point), i=len(history)))
    return history


GRID = {"opt": {"values": ["sgd", "adam"]}, "layers": {"min": 1, "max": 3}, "epochs": {"value": 5}}
QUADRATIC = {"x": {"min": -5.0, "max": 5.0}, "y": {"min": -5.0, "max": 5.0}}


def quadratic(p):
    return (p["x"] - 1.3) ** 2 + (p["y"] + 0.7) ** 2


def test_grid_visits_every_combination_once_in_a_stable_order_then_stops():
    history = run(strategy("grid", GRID), lambda p: 0.0, 100)
    points = [h["params"] for h in history]
    assert len(points) == 6 and points[0] == {"opt": "sgd", "layers": 1, "epochs": 5}
    assert points[1] == {"opt": "sgd", "layers": 2, "epochs": 5}
    assert len({(p["opt"], p["layers"]) for p in points}) == 6
    assert strategy("grid", GRID).suggest(history) is None


def test_a_resumed_grid_never_repeats_a_point_but_retries_killed_ones():
    grid = strategy("grid", GRID)
    first = run(grid, lambda p: 0.0, 3)
    first[0]["status"] = "killed"
    first[1]["status"] = "failed"
    first[2]["status"] = "running"
    assert grid.suggest(first) == first[0]["params"]
    rest = run(strategy("grid", GRID), lambda p: 0.0, 100, history=first)
    tried = [h["params"] for h in rest if h["status"] != "killed"]
    assert len(tried) == 6 and len({(p["opt"], p["layers"]) for p in tried}) == 6


def test_random_is_reproducible_from_the_seed_and_the_history_length():
    a = [strategy("random", QUADRATIC, seed=7).suggest([None] * k) for k in range(5)]
    b = [strategy("random", QUADRATIC, seed=7).suggest([None] * k) for k in range(5)]
    c = [strategy("random", QUADRATIC, seed=8).suggest([None] * k) for k in range(5)]
    assert a == b and a != c and len({p["x"] for p in a}) == 5


@pytest.mark.slow  # about 4 s on an idle machine, 12 s on a busy one
def test_bayes_beats_random_on_a_quadratic_over_several_seeds():
    regrets = {"bayes": [], "random": []}
    for seed in range(3):
        for method in regrets:
            strat = strategy(method, QUADRATIC, seed=seed, bayes={"n_startup_trials": 5})
            history = run(strat, quadratic, 15)
            regrets[method].append(min(h["value"] for h in history))
    assert statistics.median(regrets["bayes"]) < statistics.median(regrets["random"]) / 5
    assert max(regrets["bayes"]) < 0.05


@pytest.mark.parametrize("sampler", ["gp", "tpe"])
def test_bayes_does_not_suggest_the_point_a_running_trial_is_probing(sampler):
    bayes = strategy("bayes", QUADRATIC, bayes={"sampler": sampler, "n_startup_trials": 5})
    history = run(bayes, quadratic, 15)
    first = bayes.suggest(history)
    second = bayes.suggest(history + [done(first, status="running")])
    assert math.dist((first["x"], first["y"]), (second["x"], second["y"])) > 1e-3
    if sampler == "gp":  # the same history without the running trial gives the same point again
        blind = bayes.suggest(history + [done(first, status="killed")])
        assert math.dist((first["x"], first["y"]), (blind["x"], blind["y"])) < 1e-3


def test_bayes_survives_nan_inf_and_failed_trials():
    bayes = strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 3})
    history = run(bayes, quadratic, 4)
    history += [done({"x": 4.0, "y": 4.0}, float("nan")), done({"x": -4.0, "y": 4.0}, float("inf")),
                done({"x": 0.0, "y": 0.0}, None, status="failed"),
                done({"x": 9.0, "y": 0.0}, 1.0)]  # outside the space: ignored
    point = bayes.suggest(history)
    assert -5 <= point["x"] <= 5 and -5 <= point["y"] <= 5


def test_bayes_maps_every_kind_of_parameter_and_returns_values_of_the_space():
    params = {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
              "width": {"distribution": "q_log_uniform_values", "min": 16, "max": 512, "q": 16},
              "opt": {"values": ["sgd", "adam", {"name": "lamb"}]},
              "layers": {"min": 1, "max": 4}, "drop": {"distribution": "beta", "a": 2, "b": 5},
              "wd": {"distribution": "log_normal", "mu": -9, "sigma": 1}, "epochs": {"value": 3}}
    bayes = strategy("bayes", params, bayes={"n_startup_trials": 3})
    history = run(bayes, lambda p: math.log(p["lr"]) ** 2 + p["layers"], 6)
    point = history[-1]["params"]
    assert 1e-5 <= point["lr"] <= 1e-1 and point["width"] % 16 == 0
    assert point["opt"] in params["opt"]["values"] and point["layers"] in (1, 2, 3, 4)
    assert 0 <= point["drop"] <= 1 and point["wd"] > 0 and point["epochs"] == 3


def test_bayes_is_deterministic_given_seed_and_history():
    history = run(strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 4}), quadratic, 8)
    again = [strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 4}).suggest(history)
             for _ in range(2)]
    assert again[0] == again[1]


def test_bayes_driven_by_the_sweep_loop_picks_the_same_points_as_optunas_own_ask_tell_loop():
    import optuna

    bayes = strategy("bayes", QUADRATIC, seed=7, bayes={"n_startup_trials": 4})
    ours = [h["params"] for h in run(bayes, quadratic, 6)]
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=7, n_startup_trials=4))
    theirs = []
    for _ in range(6):
        trial = study.ask()
        point = {"x": trial.suggest_float("x", -5, 5), "y": trial.suggest_float("y", -5, 5)}
        study.tell(trial, quadratic(point))
        theirs.append(point)
    assert ours == theirs
    assert bayes.rebuilds == 1  # built once, then only told the news


def test_bayes_rebuilds_from_a_history_that_is_not_an_extension_and_still_suggests_a_new_point():
    bayes = strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 3})
    history = run(bayes, quadratic, 5)
    rewritten = history[:2] + history[3:]  # a trial vanished: not what the study knows
    point = bayes.suggest(rewritten)
    assert bayes.rebuilds == 2
    assert -5 <= point["x"] <= 5 and -5 <= point["y"] <= 5
    assert point not in [h["params"] for h in history]


def test_a_resumed_bayes_sweep_goes_on_from_the_history_without_replaying_its_start():
    history = run(strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 5}), quadratic, 3)
    resumed = strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 5})  # a fresh process
    history = run(resumed, quadratic, 5, history)
    points = [h["params"] for h in history]
    assert len(points) == 8 and all(points.count(p) == 1 for p in points)
    assert resumed.rebuilds == 1  # rebuilt once on resume, then incremental


def test_bayes_drops_a_suggestion_the_sweep_did_not_launch():
    bayes = strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 3})
    history = run(bayes, quadratic, 4)
    bayes.suggest(history)                                   # asked, never launched
    launched = bayes.suggest(history)
    history.append(done(launched, status="running", i=4))
    third = bayes.suggest(history)
    running = [t for t in bayes._study.get_trials(deepcopy=False) if t.state.name == "RUNNING"]
    assert len(running) == 2  # the launched one and the one just asked, not the dropped one
    assert third != launched and bayes.rebuilds == 1


def test_bayes_rejects_unknown_options():
    with pytest.raises(ExptrackError, match="bayes.sampler"):
        strategy("bayes", QUADRATIC, bayes={"sampler": "cmaes"})
    with pytest.raises(ExptrackError, match="bayes.n_startup"):
        strategy("bayes", QUADRATIC, bayes={"n_startup_trials": -1})


def test_bayes_asked_again_after_a_running_trial_ended_tells_optuna_its_end_once():
    # two workers: t1 runs while t2 is suggested, ends before t3, and is still ended at t4
    bayes = strategy("bayes", QUADRATIC, bayes={"n_startup_trials": 2})
    first = bayes.suggest([], trial_id="t1")
    running = [done(first, status="running", i="t1")]
    second = bayes.suggest(running, trial_id="t2")
    history = [done(first, quadratic(first), i="t1"), done(second, status="running", i="t2")]
    third = bayes.suggest(history, trial_id="t3")
    history += [done(third, status="running", i="t3")]
    fourth = bayes.suggest(history, trial_id="t4")  # t1's end was told at t3; not again
    assert -5 <= fourth["x"] <= 5 and bayes.rebuilds == 1
