"""Built-in plugin: the local JSON/CSV tracker."""

from exptrack_core import hookimpl


@hookimpl
def register_trackers(register):
    from exptrack_plugins.local.tracker import LocalTracker

    register("local", LocalTracker, "JSON + CSV files per run, append-only metric history")
