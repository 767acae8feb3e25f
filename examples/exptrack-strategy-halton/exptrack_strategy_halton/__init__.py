"""exptrack plugin: the ``halton`` search strategy (see ``halton.py``)."""

from exptrack.plugin import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_strategies(register):
    from .halton import HaltonSearch

    register("halton", HaltonSearch, "scrambled Halton quasi-random points, evenly spread")


__all__ = ["register_strategies"]
