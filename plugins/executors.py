"""Built-in plugin: the executors ``local`` (processes) and ``inline`` (this process)."""

from exptrack_core import hookimpl


@hookimpl
def register_executors(register):
    from .inline_executor import InlineExecutor
    from .process_executor import ProcessExecutor

    register("local", ProcessExecutor, "each trial a local process; --workers N, one GPU each")
    register("inline", InlineExecutor, "each trial a call in this process (Python API)")
