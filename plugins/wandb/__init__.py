"""Built-in plugin: the Weights & Biases logging backend (offline unless credentials are set up),
and the trial adapter that runs unchanged W&B scripts as sweep trials."""

from exptrack_core import hookimpl


@hookimpl
def register_backends(register):
    from exptrack_plugins.wandb.backend import WandbBackend

    register("wandb", WandbBackend, "Weights & Biases runs; offline files under the run's dir "
             "until `wandb sync`")


@hookimpl
def register_trial_adapters(register):
    from exptrack_plugins.wandb.agent import WandbAdapter

    register("wandb", WandbAdapter, "unchanged W&B scripts as trials: the agent's environment, "
             "their offline history followed into the run")
