"""exptrack: experiment tracking and hyperparameter sweeps, offline-first, versioned by DVC.

    import exptrack
    with exptrack.init(experiment="digits", params={"train": {"lr": 3e-4}}) as run:
        run.log({"val_acc": 0.93}, step=1)
"""

from exptrack_core import __version__, hookimpl
from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.facade import ExperimentTracker
from exptrack_core.manager import ExperimentManager
from exptrack_core.params import load_params
from exptrack_core.run import Run, init


def __getattr__(name: str):
    # the sweep machinery loads on first use: a trial program importing exptrack starts faster
    if name in ("sweep", "grid_search"):
        from exptrack_core.sweep import api as sweep_api

        return getattr(sweep_api, name)
    raise AttributeError(f"module 'exptrack' has no attribute {name!r}")


__all__ = ["ExperimentManager", "ExperimentTracker", "ExptrackError", "Run", "UnknownNameError", "__version__",
           "grid_search", "hookimpl", "init", "load_params", "sweep"]
