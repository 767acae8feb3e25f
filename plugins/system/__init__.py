"""Built-in plugin: the ``system`` backend, which samples CPU, memory and GPU use as system/* metrics."""

from exptrack_core import hookimpl


@hookimpl
def register_backends(register):
    from exptrack_plugins.system.backend import SystemBackend

    register("system", SystemBackend, "CPU %, process memory and each NVIDIA GPU's use, sampled "
             "every few seconds as system/* metrics")
