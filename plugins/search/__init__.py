"""Built-in plugin: the grid, random and bayes search strategies."""

from exptrack_core import hookimpl


@hookimpl
def register_strategies(register):
    from exptrack_plugins.search.bayes import BayesSearch
    from exptrack_plugins.search.grid import GridSearch
    from exptrack_plugins.search.random import RandomSearch

    register("grid", GridSearch, "every combination of the discrete parameters once")
    register("random", RandomSearch, "independent seeded draws from each distribution")
    register("bayes", BayesSearch, "model-based search (Optuna GP or TPE), aware of running trials")
