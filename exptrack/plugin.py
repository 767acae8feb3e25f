"""Everything a plugin author needs, in one module: ``from exptrack.plugin import ...``.

A plugin is a module listed in the ``exptrack`` entry-point group that implements hooks (see
``exptrack_core.plugin.hookspecs`` and the README's "Writing a plugin"), each decorated with
``hookimpl`` and given ``register(name, factory, description="")``. What each factory returns is
one of the Protocols below (plain structural types: no base class to inherit), and what the core
hands it are the types below. Anything not named here is internal and may change.
"""

from __future__ import annotations

from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.plugin.hookspecs import hookimpl
from exptrack_core.plugin.interfaces import (FINAL_STATUSES, STATUSES, Backend, EarlyStopper,
                                             Executor, RunInfo, SearchStrategy, Tracker,
                                             TrialAdapter, TrialFollower, TrialView)
from exptrack_core.plugin.options import check_options
from exptrack_core.sweep.curves import Curves
from exptrack_core.sweep.launch import TrialExit, TrialLaunch
from exptrack_core.sweep.space import ParamSpace, ParamSpec, SweepConfigError

__all__ = [
    "Backend", "Curves", "EarlyStopper", "Executor", "ExptrackError", "FINAL_STATUSES", "ParamSpace",
    "ParamSpec", "RunInfo", "STATUSES", "SearchStrategy", "SweepConfigError", "Tracker",
    "TrialAdapter", "TrialExit", "TrialFollower", "TrialLaunch", "TrialView", "UnknownNameError",
    "check_options", "hookimpl",
]
