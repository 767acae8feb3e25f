"""Built-in plugin: the executors ``local`` (processes), ``dvc`` (DVC experiments), ``inline``."""

from exptrack_core import hookimpl


@hookimpl
def register_executors(register):
    from exptrack_plugins.dvc.executor import DvcExecutor
    from exptrack_plugins.executors.inline import InlineExecutor
    from exptrack_plugins.executors.process import ProcessExecutor

    register("local", ProcessExecutor, "each trial a local process; --workers N, one GPU each")
    register("dvc", DvcExecutor, "each trial a DVC experiment (dvc exp run --temp), in dvc exp show")
    register("inline", InlineExecutor, "each trial a call in this process (Python API)")
