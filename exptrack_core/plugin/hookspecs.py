"""The hook specifications: every way a plugin can extend exptrack.

A plugin is a module (or object) listed in the ``exptrack`` entry-point group. It implements any of
the hooks below, decorated with ``exptrack_core.hookimpl``. Each hook receives a ``register``
callback rather than returning a list, so one plugin can contribute several things, and a hook can
grow new keyword arguments without breaking plugins (pluggy passes only the arguments a plugin asks
for).

``register(name, factory, description="")`` is the same for every family:

- ``name``: what a user types (``--backend NAME``, ``--method NAME``...). Lowercase letters, digits,
  ``-`` and ``_``. A name registered twice in one family is an error naming both plugins.
- ``factory``: a callable building the thing; its signature is the family's contract, below.
- ``description``: one line for ``exptrack plugins``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:  # pragma: no cover - types only
    Register = Callable[..., None]

PROJECT = "exptrack"
_hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@_hookspec
def register_trackers(register: "Register") -> None:
    """Register trackers: the system of record for runs.

    Args:
        register: ``register(name, factory, description="")``. ``factory(root: pathlib.Path)``
            returns an object implementing ``exptrack_core.plugin.interfaces.Tracker``: create a run,
            append params, metric values and artifacts to it, set its status, and read runs back
            (``get_run``, ``list_runs``, ``history``). Appends must be O(1) in the size of what is
            already recorded, and a process killed at any moment must leave every earlier record
            readable.
    """


@_hookspec
def register_backends(register: "Register") -> None:
    """Register logging backends: sinks that mirror a run's stream (W&B, TensorBoard, ...).

    Args:
        register: ``register(name, factory, description="")``. ``factory(run: RunInfo,
            options: dict)`` returns an object implementing ``exptrack_core.plugin.interfaces.Backend``
            (``log_params``, ``log_metrics``, ``log_artifact``, ``finish``). The backend is built
            when the run starts; its methods are called from a background thread, in order, so a
            slow backend never slows the training loop. A backend that raises is disabled for the
            rest of the run with one warning; the tracker's record is unaffected.
    """


@_hookspec
def register_strategies(register: "Register") -> None:
    """Register search strategies (``grid``, ``random``, ``bayes``...).

    Args:
        register: ``register(name, factory, description="")``. ``factory(space, config: dict,
            seed: int | None)`` returns an object implementing
            ``exptrack_core.plugin.interfaces.SearchStrategy``: ``suggest(history) -> dict | None`` gives
            the next trial's flat params from the recorded trials alone (``None``: the space is
            exhausted), so a resumed sweep continues where it stopped.
    """


@_hookspec
def register_stoppers(register: "Register") -> None:
    """Register early-stopping rules (``hyperband``, ``median``...).

    Args:
        register: ``register(name, factory, description="")``. ``factory(config: dict, goal: str)``
            returns an object implementing ``exptrack_core.plugin.interfaces.EarlyStopper``:
            ``should_stop(trial_id, curves) -> bool`` where ``curves`` maps every trial id of the
            sweep to its ``[(step, value), ...]`` for the sweep metric.
    """


@_hookspec
def register_executors(register: "Register") -> None:
    """Register executors: where a sweep's trials run (in-process, local processes, DVC queue...).

    Args:
        register: ``register(name, factory, description="")``. ``factory(options: dict)`` returns
            an object implementing ``exptrack_core.plugin.interfaces.Executor``: ``launch(trial)`` starts
            a trial, ``poll()`` yields finished ones, ``cancel_all()`` stops the rest.
    """


@_hookspec
def register_trial_adapters(register: "Register") -> None:
    """Register trial adapters: what lets an unchanged script of another library (W&B...) run
    as a sweep trial, as that library's own agent would run it.

    Args:
        register: ``register(name, factory, description="")``. ``factory()`` returns an object
            implementing ``exptrack_core.plugin.interfaces.TrialAdapter``: ``handles(trial)``
            says whether it applies to a program trial (a ``TrialLaunch``); ``prepare(trial,
            space)`` adds to ``trial.env`` (and may write files in ``trial.run_dir``, from
            ``trial.recorded``: a secret given with ``-S`` is redacted there, and reaches the
            script only through its environment) what the library's scripts expect, before the
            sweep's command is expanded, so
            ``${envvar:...}`` sees it; ``follow(tracker, trial)`` returns ``None`` or a
            ``TrialFollower`` whose ``poll()`` copies the records the script wrote since the last
            poll into the trial's run (returning how many rows, so early stopping looks again)
            and whose ``finish()`` copies the last ones when the trial has ended. Every adapter
            that handles a trial applies to it, in name order.
    """


__all__ = [
    "PROJECT",
    "hookimpl",
    "register_backends",
    "register_executors",
    "register_stoppers",
    "register_strategies",
    "register_trackers",
    "register_trial_adapters",
]
