"""Built-in plugin: a logging backend writing the metrics and plots files DVC reads."""

from exptrack_core import hookimpl


@hookimpl
def register_backends(register):
    from exptrack_plugins.dvc.backend import DvcBackend

    register("dvc", DvcBackend, "metrics JSON + plots TSVs for dvc exp show / dvc plots show")
