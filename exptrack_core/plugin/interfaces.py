"""The shapes plugins implement. Plain protocols: a plugin needs no base class from exptrack."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from exptrack_core.sweep.launch import TrialExit, TrialLaunch

# What a run can end as. "running" is the only unfinished one; a running run whose process is
# gone is shown as "crashed" by readers, and a sweep writes "crashed" for a trial that ended so
# (see exptrack_core.sweep.states): a program never ends itself crashed.
# "timed_out": stopped by the sweep after its --trial-timeout; it keeps what it logged.
STATUSES = ("running", "completed", "failed", "killed", "pruned", "timed_out", "crashed")
FINAL_STATUSES = ("completed", "failed", "killed", "pruned", "timed_out", "crashed")


@dataclass
class RunInfo:
    """What a backend is told about the run it mirrors."""

    run_id: str
    experiment: str
    run_dir: Path
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    sweep_id: str | None = None
    trial_id: str | None = None


@dataclass(frozen=True)
class TrialView:
    """One trial of the sweep as a search strategy sees it (``suggest(history)`` gets a list).

    ``status`` is ``running`` while it runs, then what it ended as (``completed``, ``pruned``,
    ``failed``, ``killed``...); ``value`` is its sweep metric (the last, or the best reached, as
    the sweep's config says), ``None`` when it has none yet; ``values`` holds every objective's
    value by name on a multi-objective sweep (``None`` elsewhere). Reading it as a mapping
    (``t["params"]``, ``t.get("status")``) still works for strategies written for the dict form.
    """

    trial_id: str
    params: dict[str, Any]
    status: str
    value: float | None = None
    values: Mapping[str, float | None] | None = None

    @classmethod
    def of(cls, trial: Mapping[str, Any]) -> "TrialView":
        return cls(str(trial["trial_id"]), dict(trial.get("params") or {}), str(trial["status"]),
                   trial.get("value"), trial.get("values"))

    def __getitem__(self, key: str) -> Any:
        if key not in _VIEW_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in _VIEW_KEYS else default

    def keys(self) -> tuple[str, ...]:
        return _VIEW_KEYS


_VIEW_KEYS = ("trial_id", "params", "status", "value", "values")


@runtime_checkable
class Tracker(Protocol):
    """The system of record. Every method here is called by the core (the run, the sweep
    controller, early stopping, the CLI); a tracker that lacks one breaks that caller.

    A run, as ``read_run``/``get_run``/``list_runs`` give it, is a dict with ``run_id``,
    ``experiment_name``, ``status`` (one of ``STATUSES``), ``note``,
    ``created_at`` and ``finished_at`` (ISO text, ``None`` while running), ``params`` (nested),
    ``tags``, ``description``, ``sweep_id``, ``trial_id``, ``run_dir`` and ``summary``
    (``{metric: {"last", "min", "max", "count", "step"}}``); with history also ``metrics``
    (``{metric: [{"step", "value", "timestamp"}]}``), ``context`` and ``artifacts`` (names).
    ``run_dir(run_id)`` is a directory the run owns: a trial's executor writes its logs there.
    """

    root: Path

    def create_run(self, experiment: str, *, params: Mapping[str, Any] | None = None,
                   tags: Mapping[str, str] | None = None, description: str = "",
                   context: Mapping[str, Any] | None = None, sweep_id: str | None = None,
                   trial_id: str | None = None, params_snapshot: Path | None = None) -> str:
        """A new run, status ``running``; ``params_snapshot`` is a params file to copy as-is."""

    def run_dir(self, run_id: str) -> Path: ...

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    def log_context(self, run_id: str, context: Mapping[str, Any]) -> None:
        """Where the run ran (git commit, host, command line...), recorded when it starts."""

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int | None,
                    timestamp: float) -> None: ...

    def log_artifact(self, run_id: str, path: Path, name: str) -> Path: ...

    def set_status(self, run_id: str, status: str, *, note: str | None = None) -> None: ...

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run with its full history (``metrics``, ``context``, ``artifacts``)."""

    def read_run(self, run_dir: Path, *, history: bool = False) -> dict[str, Any]:
        """The run stored in ``run_dir``; with ``history``, as ``get_run`` gives it."""

    def list_runs(self, experiment: str | None = None, *, errors: list[str] | None = None
                  ) -> list[dict[str, Any]]:
        """Every readable run, oldest first; an unreadable one is named in ``errors``."""

    def read_history(self, run_id: str, *, start: Any = 0, metric: str | None = None
                     ) -> tuple[list[tuple[int | None, str, float, float]], Any]:
        """``(rows, next_offset)``: the ``(step, name, value, timestamp)`` rows appended since
        the opaque offset ``start``, read incrementally; early stopping reads curves only so."""

    def close(self, run_id: str) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """A sink mirroring a run; called from one background thread, in order."""

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None: ...

    def log_artifact(self, path: Path, name: str) -> None: ...

    def finish(self, status: str) -> None: ...


@runtime_checkable
class SearchStrategy(Protocol):
    def suggest(self, history: Sequence[TrialView]) -> dict[str, Any] | None:
        """The next trial's flat params from the recorded trials alone (``None``: exhausted).

        A strategy may also accept ``trial_id=`` (``suggest(history, *, trial_id)``): it is then
        told which trial the suggestion is for, the id its ``TrialView`` will carry."""


@runtime_checkable
class EarlyStopper(Protocol):
    """Optional, so a trial's first verdict need not derive everything from every ended trial:
    ``snapshot_state(curves) -> bytes | None``, the compact form of what the stopper derives
    from ``curves`` (ended trials only, whose curves never change; None: keep no snapshot), and
    ``restore_snapshot(data) -> bool`` on a fresh stopper of the same config: True when it took
    ``data``, after which ``should_stop`` is given curves *without* those trials and must decide
    exactly as if they were there (False: the core feeds it every curve instead). The controller
    calls the first as trials end (``exptrack_core.sweep.snapshot``); trial processes the second.
    A stopper without them is given every trial's curve, as always."""

    def should_stop(self, trial_id: str, curves: Mapping[str, list[tuple[int, float]]]) -> bool:
        """``curves`` maps every trial id of the sweep to its ``[(step, value), ...]``."""


@runtime_checkable
class Executor(Protocol):
    """Where trials run. The controller never blocks on an executor: it launches while
    ``free_slots`` > 0 and polls for exits. A process executor runs ``trial.argv`` in
    ``trial.cwd`` with ``trial.env`` added to its environment (that is how the program joins its
    trial). Optional: a ``default_backends`` attribute, the ``--backend`` its trials get when the
    sweep names none (the tracker alone otherwise)."""

    @property
    def free_slots(self) -> int:
        """How many more trials ``launch`` accepts now."""

    def launch(self, trial: TrialLaunch) -> None: ...

    def poll(self) -> list[TrialExit]:
        """The trials that ended since the last poll; ``TrialExit.lost`` says why for one whose
        process was lost with no exit status seen (a node died): it ends ``crashed``."""

    def running(self) -> list[TrialLaunch]: ...

    def terminate(self, trial_id: str, grace: float = 10.0) -> None:
        """SIGTERM the trial's process group now, SIGKILL it if alive after ``grace``; never
        blocks; a later ``poll`` reports its exit."""

    def cancel_all(self, grace: float = 10.0) -> list[TrialExit]:
        """Stop every running trial, waiting at most ``grace`` seconds; their exits."""


@runtime_checkable
class TrialFollower(Protocol):
    """Copies what one running trial's script records (in its library's own files) into the
    trial's run, through the tracker's API."""

    def poll(self) -> int:
        """Copy what was written since the last poll; how many history rows that was."""

    def finish(self) -> None:
        """The trial has ended: copy the last records (and final values) too."""


@runtime_checkable
class TrialAdapter(Protocol):
    """Runs another library's unchanged scripts as sweep trials (``register_trial_adapters``)."""

    def handles(self, trial: TrialLaunch) -> bool:
        """Does this adapter apply to this program trial?"""

    def prepare(self, trial: TrialLaunch, space: Any) -> None:
        """Add to ``trial.env`` what the library's scripts expect; ``space`` is the sweep's
        ``ParamSpace`` (``space.agent_args(trial.params)``: the params as W&B hands them)."""

    def follow(self, tracker: Tracker, trial: TrialLaunch) -> TrialFollower | None:
        """What follows the trial's records while it runs, or ``None``."""


__all__ = ["Backend", "EarlyStopper", "Executor", "FINAL_STATUSES", "RunInfo", "STATUSES",
           "SearchStrategy", "Tracker", "TrialAdapter", "TrialFollower", "TrialView"]
