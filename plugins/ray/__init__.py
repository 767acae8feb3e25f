"""Built-in plugin: the ``ray`` executor (each trial a Ray actor; no shared filesystem needed).

Ray is imported only when a sweep uses the executor (``pip install "exptrack[ray]"``).
"""

from exptrack_core import hookimpl


def _ray_executor(options):
    from exptrack_plugins.ray.executor import RayExecutor

    return RayExecutor(options)


@hookimpl
def register_executors(register):
    register("ray", _ray_executor, "each trial a Ray actor on a cluster: --ray-address HOST:PORT, "
                                   "--gpus-per-trial, --cpus-per-trial, --resources JSON")
