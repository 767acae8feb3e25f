"""Built-in plugin: a logging backend that prints each step to stderr."""

from exptrack_core import hookimpl


@hookimpl
def register_backends(register):
    from exptrack_plugins.console.backend import ConsoleBackend

    register("console", ConsoleBackend, "prints every logged step to stderr")
