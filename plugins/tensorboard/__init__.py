"""Built-in plugin: the TensorBoard logging backend (event files; no TensorFlow needed)."""

from exptrack_core import hookimpl


@hookimpl
def register_backends(register):
    from exptrack_plugins.tensorboard.backend import TensorBoardBackend

    register("tensorboard", TensorBoardBackend, "TensorBoard scalars, params text and HParams, "
             "one log dir per run")
