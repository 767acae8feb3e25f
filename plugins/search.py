"""Built-in plugin: the grid, random and bayes search strategies."""

from exptrack_core import hookimpl


@hookimpl
def register_strategies(register):
    from .bayes_search import BayesSearch
    from .grid_search import GridSearch
    from .random_search import RandomSearch

    register("grid", GridSearch, "every combination of the discrete parameters once")
    register("random", RandomSearch, "independent seeded draws from each distribution")
    register("bayes", BayesSearch, "model-based search (Optuna GP or TPE), aware of running trials")
