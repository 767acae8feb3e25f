"""Early stopping: ``hyperband`` (W&B's asynchronous semantics) and ``median``, on hand-made curves.

Each sweep below is replayed the way a sweep runs it: trials one after the other, each reporting
one value per step and asking ``should_stop`` after every report, with every earlier trial's curve
(cut where it was stopped) in view.
"""

from __future__ import annotations

import math

import pytest

from exptrack import ExptrackError
from exptrack_core.plugin.registry import get_registry

NAN = math.nan


def stopper(name, config, goal="minimize"):
    return get_registry().stopper(name, config, goal)


def replay(stop, trials: dict[str, list[float]], first_step: int = 1) -> dict[str, int | None]:
    """Run ``trials`` in order; return the step at which each was stopped (None: ran to the end)."""
    curves: dict[str, list[tuple[int, float]]] = {}
    stopped_at: dict[str, int | None] = {}
    for trial_id, values in trials.items():
        curves[trial_id] = []
        stopped_at[trial_id] = None
        for step, value in enumerate(values, start=first_step):
            curves[trial_id].append((step, value))
            if stop.should_stop(trial_id, curves):
                stopped_at[trial_id] = step
                break
    return stopped_at


LOSSES = {  # bands 2, 4, 8 with min_iter=2, eta=2
    "a": [1.0, 0.8, 0.6, 0.5, 0.4, 0.35],  # first: alone at each band, never stopped
    "b": [1.2, 1.0, 0.9, 0.8, 0.7, 0.6],  # the worse of two at each band: still in the top half
    "c": [0.9, 1.1, 1.0, 0.9, 0.8, 0.7],  # bad at iteration 2, though its best (0.9) is not
    "d": [0.7, 0.6, 0.5, 0.45, 0.3, 0.2],  # the best
    "e": [NAN, NAN, NAN, NAN, NAN, NAN],  # diverged from the start
}


def accuracies(losses):
    return {t: [1 - v for v in vs] for t, vs in losses.items()}


# --- hyperband: bands ------------------------------------------------------------------------------

def test_min_iter_bands_grow_by_eta():
    assert stopper("hyperband", {"type": "hyperband", "min_iter": 3, "eta": 3}).bands[:4] == (
        3, 9, 27, 81)
    assert stopper("hyperband", {"min_iter": 2, "eta": 2}).bands[:5] == (2, 4, 8, 16, 32)


def test_eta_defaults_to_3_like_wandb():
    assert stopper("hyperband", {"min_iter": 1}).bands[:3] == (1, 3, 9)


@pytest.mark.parametrize("max_iter, s, eta, bands", [
    (27, 2, 3, (3, 9)),       # 27/3, 27/9
    (27, 5, 3, (1, 3, 9)),    # 27/81 < 1 ends the bands
    (5, 2, 2, (1, 2)),        # W&B's own example: int(2.5), int(1.25)
    (10, 2, 3, (1, 3)),       # int(3.33), int(1.11)
    (81, 3, 3, (3, 9, 27)),
])
def test_max_iter_and_s_count_bands_down_from_max_iter(max_iter, s, eta, bands):
    assert stopper("hyperband", {"type": "hyperband", "max_iter": max_iter, "s": s,
                                 "eta": eta}).bands == bands


# --- hyperband: who stops when -------------------------------------------------------------------

def test_wandb_docstring_example_stops_only_the_run_stuck_at_10():
    # hyperband_stop_runs' docstring sweep: max_iter 5, eta 2, s 2 -> bands 1, 2.
    curves = {"a": [(1, 10), (2, 9)], "b": [(1, 10), (2, 10)], "c": [(1, 10), (2, 8), (3, 8)],
              "d": [(1, 10), (2, 7), (3, 7)], "e": [(1, 10), (2, 6), (3, 6)]}
    for strict in (True, False):
        hb = stopper("hyperband", {"type": "hyperband", "max_iter": 5, "eta": 2, "s": 2,
                                   "strict": strict})
        assert [t for t in "bcd" if hb.should_stop(t, curves)] == ["b"]


def test_strict_hyperband_stops_a_trial_bad_at_its_band_even_if_it_was_good_before():
    hb = stopper("hyperband", {"type": "hyperband", "min_iter": 2, "eta": 2, "strict": True})
    assert replay(hb, LOSSES) == {"a": None, "b": None, "c": 2, "d": None, "e": 2}


def test_non_strict_hyperband_judges_the_best_value_so_far_and_stops_later():
    hb = stopper("hyperband", {"type": "hyperband", "min_iter": 2, "eta": 2, "strict": False})
    assert replay(hb, LOSSES) == {"a": None, "b": None, "c": 4, "d": None, "e": 2}


def test_strict_is_the_default_like_wandb():
    assert replay(stopper("hyperband", {"min_iter": 2, "eta": 2}), LOSSES)["c"] == 2


@pytest.mark.parametrize("strict, expected", [(True, {"c": 2}), (False, {"c": 4})])
def test_maximizing_accuracy_stops_the_same_trials_as_minimizing_loss(strict, expected):
    hb = stopper("hyperband", {"min_iter": 2, "eta": 2, "strict": strict}, goal="maximize")
    assert replay(hb, accuracies(LOSSES)) == {"a": None, "b": None, "d": None, "e": 2, **expected}


def test_a_trial_is_judged_at_its_latest_band_against_everyone_who_reached_it():
    hb = stopper("hyperband", {"min_iter": 1, "eta": 3})  # bands 1, 3, 9
    curves = {"x": [(1, 1.0), (2, 0.9), (3, 0.8)], "y": [(1, 1.0), (2, 0.5), (3, 0.4)],
              "z": [(1, 1.0), (2, 0.6), (3, 0.3)]}
    # at band 3 the values are 0.3, 0.4, 0.8: the threshold is sorted[int(3 / 3)] = 0.4
    assert [t for t in curves if hb.should_stop(t, curves)] == ["x"]
    assert not hb.should_stop("x", {"x": curves["x"]})  # alone, a trial is its own threshold
    # one more report and "x" is still judged at band 3 (the next band is 9)
    curves["x"].append((4, 0.35))
    assert hb.should_stop("x", curves)  # strict: the value at band 3 (0.8) counts, not 0.35
    assert not stopper("hyperband", {"min_iter": 1, "eta": 3, "strict": False}).should_stop(
        "x", curves)  # best so far 0.35 <= 0.4


def test_iterations_are_counted_values_so_steps_from_0_work_the_same():
    hb = stopper("hyperband", {"type": "hyperband", "min_iter": 2, "eta": 2})
    assert replay(hb, LOSSES, first_step=0) == {"a": None, "b": None, "c": 1, "d": None, "e": 1}


def test_a_trial_before_its_first_band_or_unknown_is_never_stopped():
    hb = stopper("hyperband", {"min_iter": 3})
    assert not hb.should_stop("new", {"new": [(1, NAN), (2, NAN)], "old": [(1, 0.1)] * 5})
    assert not hb.should_stop("absent", {"old": [(1, 0.1)]})


# --- hyperband: NaN and inf --------------------------------------------------------------------

@pytest.mark.parametrize("goal", ["minimize", "maximize"])
@pytest.mark.parametrize("bad", [NAN, math.inf, -math.inf])
def test_nan_or_inf_at_the_band_is_the_worst_value_for_either_goal(goal, bad):
    hb = stopper("hyperband", {"min_iter": 2, "eta": 3}, goal=goal)
    sign = 1 if goal == "minimize" else -1
    curves = {"good": [(1, sign * 0.5), (2, sign * 0.4)], "other": [(1, sign * 0.6), (2, sign * 0.5)],
              "bad": [(1, sign * 0.5), (2, bad)]}
    assert [t for t in curves if hb.should_stop(t, curves)] == ["bad"]


def test_a_diverged_trial_is_stopped_at_its_band_even_alone():
    hb = stopper("hyperband", {"min_iter": 2})
    assert hb.should_stop("only", {"only": [(1, NAN), (2, NAN)]})


def test_non_strict_judges_a_trial_with_a_late_nan_by_its_best_finite_value():
    hb = stopper("hyperband", {"min_iter": 2, "eta": 3, "strict": False})
    curves = {"p": [(1, 0.6), (2, 0.5)], "q": [(1, 0.7), (2, 0.6)], "r": [(1, 0.2), (2, NAN)]}
    assert not hb.should_stop("r", curves)  # best so far 0.2
    assert stopper("hyperband", {"min_iter": 2, "eta": 3, "strict": True}).should_stop("r", curves)


# --- median ------------------------------------------------------------------------------------

PEERS = {  # steps from 0; best up to step 2: 0.6, 0.7, 0.7; "short" never reached step 2
    "p1": [(0, 1.0), (1, 0.8), (2, 0.6), (3, 0.5)],
    "p2": [(0, 1.0), (1, 0.9), (2, 0.7), (3, 0.6)],
    "p3": [(0, 1.0), (1, 0.7), (2, 0.75), (3, 0.65)],
    "short": [(0, 1.0), (1, 0.2)],
}


def ask_median(trial, config=None, goal="minimize", peers=PEERS):
    config = config or {"type": "median", "min_steps": 2, "min_trials": 3}
    return stopper("median", config, goal).should_stop("t", {**peers, "t": trial})


def test_median_stops_a_trial_worse_than_the_median_of_peers_at_the_same_step():
    assert ask_median([(0, 0.9), (1, 0.85), (2, 0.72)])  # 0.72 > median(0.6, 0.7, 0.7)
    assert not ask_median([(0, 0.9), (1, 0.85), (2, 0.70)])  # a tie is not worse


def test_median_compares_peers_only_up_to_the_trials_step():
    # with their later values the peers' median would be 0.6 and 0.65 would be stopped
    assert not ask_median([(0, 0.9), (1, 0.85), (2, 0.65)])


def test_median_uses_the_trials_best_so_far_not_its_latest_value():
    assert not ask_median([(0, 0.9), (1, 0.6), (2, 0.8)])


def test_median_waits_for_min_steps_and_min_trials():
    assert not ask_median([(0, 5.0), (1, 5.0)])  # step 1 < min_steps 2
    assert not ask_median([(0, 0.9), (1, 0.85), (2, 0.72)],
                          {"min_steps": 2, "min_trials": 4})  # only 3 peers reached step 2
    assert ask_median([(0, 0.9), (1, 0.85), (2, 0.72)], {"min_steps": 0, "min_trials": 3})


def test_median_replay_stops_each_trial_at_the_expected_step():
    med = stopper("median", {"min_steps": 1, "min_trials": 2})
    trials = {"a": [1.0, 0.8, 0.6], "b": [1.0, 0.9, 0.8], "c": [0.9, 0.95, 0.7],
              "d": [1.1, 0.85, 0.5], "e": [0.5, 0.4, 0.3]}
    # c at step 1: best 0.9 vs median(0.8, 0.9) = 0.85 -> stopped;
    # d at step 1: best 0.85 vs median(0.8, 0.9, c's 0.9) = 0.9 -> goes on; at 2: 0.5 <= 0.7
    assert replay(med, trials, first_step=0) == {"a": None, "b": None, "c": 1, "d": None, "e": None}


def test_median_for_a_maximized_metric_mirrors_the_minimized_one():
    mirrored = {t: [(s, 1 - v) for s, v in pts] for t, pts in PEERS.items()}
    assert ask_median([(0, 0.1), (1, 0.15), (2, 0.28)], goal="maximize", peers=mirrored)
    assert not ask_median([(0, 0.1), (1, 0.15), (2, 0.31)], goal="maximize", peers=mirrored)


def test_median_stops_a_trial_that_is_all_nan_and_counts_nan_peers_as_worst():
    assert ask_median([(0, NAN), (1, NAN), (2, NAN)])
    peers = {**PEERS, "p3": [(0, NAN), (1, NAN), (2, math.inf)]}  # best up to 2: 0.6, 0.7, worst
    assert not ask_median([(0, 0.9), (1, 0.8), (2, 0.7)], peers=peers)
    assert ask_median([(0, 0.9), (1, 0.8), (2, 0.71)], peers=peers)


# --- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, config, fragment", [
    ("hyperband", {"type": "hyperband", "min_iter": 3, "eta": 1}, "early_terminate.eta"),
    ("hyperband", {"min_iter": 3, "eta": "3"}, "early_terminate.eta"),
    ("hyperband", {"min_iter": 0}, "early_terminate.min_iter"),
    ("hyperband", {"min_iter": 2.5}, "early_terminate.min_iter"),
    ("hyperband", {"min_iter": True}, "early_terminate.min_iter"),
    ("hyperband", {"type": "hyperband"}, "needs min_iter"),
    ("hyperband", {"max_iter": 27}, "early_terminate.s is required"),
    ("hyperband", {"max_iter": 27, "s": 0}, "early_terminate.s"),
    ("hyperband", {"max_iter": 27, "s": 2, "min_iter": 3}, "both min_iter and max_iter"),
    ("hyperband", {"max_iter": 2, "s": 1, "eta": 3}, "early_terminate.max_iter=2 gives no band"),
    ("hyperband", {"min_iters": 3}, "early_terminate.min_iters"),
    ("hyperband", {"min_iter": 3, "strict": "yes"}, "early_terminate.strict"),
    ("hyperband", {"type": "median", "min_iter": 3}, "early_terminate.type"),
    ("median", {"type": "median", "min_trials": 0}, "early_terminate.min_trials"),
    ("median", {"min_steps": -1}, "early_terminate.min_steps"),
    ("median", {"patience": 3}, "early_terminate.patience"),
    ("median", [1, 2], "early_terminate must be a mapping"),
])
def test_a_bad_early_terminate_block_is_refused_naming_the_key(name, config, fragment):
    with pytest.raises(ExptrackError) as err:
        stopper(name, config)
    assert fragment in str(err.value)


def test_unknown_key_error_lists_the_accepted_ones():
    with pytest.raises(ExptrackError, match="accepted: eta, max_iter, min_iter, s, strict, type"):
        stopper("hyperband", {"min_iter": 3, "min_itr": 1})


@pytest.mark.parametrize("name, config", [("hyperband", {"min_iter": 1}), ("median", {})])
def test_an_unknown_goal_is_refused(name, config):
    with pytest.raises(ExptrackError, match="'lower'.*minimize, maximize"):
        stopper(name, config, goal="lower")


def test_both_stoppers_are_listed_in_the_registry():
    assert {"hyperband", "median"} <= set(get_registry().names("stopper"))
