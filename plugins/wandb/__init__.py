"""Built-in plugin: the Weights & Biases logging backend (offline unless credentials are set up)."""

from exptrack_core import hookimpl


@hookimpl
def register_backends(register):
    from exptrack_plugins.wandb.backend import WandbBackend

    register("wandb", WandbBackend, "Weights & Biases runs; offline files under the run's dir "
             "until `wandb sync`")
