"""exptrack: experiment tracking and hyperparameter sweeps, offline-first, versioned by DVC.

    import exptrack
    with exptrack.init(experiment="digits", params={"train": {"lr": 3e-4}}) as run:
        run.log({"val_acc": 0.93}, step=1)
"""

from exptrack_core import __version__, hookimpl
from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.facade import ExperimentTracker
from exptrack_core.params import load_params
from exptrack_core.run import Run, init
from exptrack_core.sweep_api import grid_search, sweep

__all__ = ["ExperimentTracker", "ExptrackError", "Run", "UnknownNameError", "__version__",
           "grid_search", "hookimpl", "init", "load_params", "sweep"]
