"""A third-party tracker, executor and trial adapter written from ``exptrack.plugin`` alone
(the conformance test).

Nothing here imports exptrack beyond ``exptrack.plugin``: if the core needs something of a tracker
or an executor that the Protocols do not say, a sweep through these two fails.
"""

from exptrack.plugin import hookimpl


@hookimpl
def register_trackers(register):
    from .tracker import EventsTracker

    register("events", EventsTracker, "every record of a run as one appended JSON event")


@hookimpl
def register_executors(register):
    from .executor import GroupExecutor

    register("groups", GroupExecutor, "each trial a process group, signalled as a whole")


@hookimpl
def register_trial_adapters(register):
    from .adapter import ToylogAdapter

    register("toylog", ToylogAdapter, "unchanged toylog scripts as sweep trials")
