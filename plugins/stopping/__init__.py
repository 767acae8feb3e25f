"""Built-in plugin: the early-stopping rules ``hyperband`` and ``median``."""

from exptrack_core import hookimpl


@hookimpl
def register_stoppers(register):
    from exptrack_plugins.stopping.hyperband import HyperbandStopper
    from exptrack_plugins.stopping.median import MedianStopper

    register("hyperband", HyperbandStopper,
             "asynchronous Hyperband (W&B semantics): keep the top 1/eta at each band")
    register("median", MedianStopper,
             "stop a trial whose best so far is worse than the median of its peers at that step")
