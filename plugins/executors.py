"""Built-in plugin: the executors ``local`` (processes), ``dvc`` (DVC experiments), ``inline``."""

from exptrack_core import hookimpl


@hookimpl
def register_executors(register):
    from .dvc_executor import DvcExecutor
    from .inline_executor import InlineExecutor
    from .process_executor import ProcessExecutor

    register("local", ProcessExecutor, "each trial a local process; --workers N, one GPU each")
    register("dvc", DvcExecutor, "each trial a DVC experiment (dvc exp run --temp), in dvc exp show")
    register("inline", InlineExecutor, "each trial a call in this process (Python API)")
