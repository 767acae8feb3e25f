"""exptrack's framework: hook specs, plugin loading, runs, params, queries. Users import ``exptrack``."""

from exptrack_core.plugin.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
