"""``exptrack.init()`` and ``Run``: one training run, recorded by the tracker, mirrored to backends."""

from __future__ import annotations

import atexit
import copy
import dataclasses
import functools
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from exptrack_core import context as run_context
from exptrack_core.errors import ExptrackError
from exptrack_core.fanout import Fanout
from exptrack_core.plugin.interfaces import FINAL_STATUSES, RunInfo
from exptrack_core.names import check_metrics, check_name, check_step
from exptrack_core.recordable import check_params
from exptrack_core.params import PARAMS_ENV, apply_overrides, env_overrides, flatten
from exptrack_core.plugin.registry import get_registry

DEFAULT_DIR = "experiments"
DEFAULT_EXPERIMENT = "default"
# Set by a sweep's executor so that the trial program joins its trial by itself.
ENV_DIR, ENV_EXPERIMENT, ENV_RUN_ID = "EXPTRACK_DIR", "EXPTRACK_EXPERIMENT", "EXPTRACK_RUN_ID"
ENV_SWEEP_ID, ENV_TRIAL_ID, ENV_BACKENDS = "EXPTRACK_SWEEP_ID", "EXPTRACK_TRIAL_ID", "EXPTRACK_BACKENDS"
ENV_TRACKER = "EXPTRACK_TRACKER"
ENV_ATTEMPT = "EXPTRACK_ATTEMPT"  # set by a sweep: 1, or n when a killed trial is run again
CHECKPOINTS_DIR = "checkpoints"


def resolve_dir(dir: str | os.PathLike | None = None) -> Path:
    return Path(dir or os.environ.get(ENV_DIR) or DEFAULT_DIR)


def get_tracker(dir: str | os.PathLike | None = None, name: str | None = None):
    """The tracker (system of record) for ``dir``: the ``local`` one unless configured otherwise."""
    name = name or os.environ.get(ENV_TRACKER) or "local"
    return get_registry().tracker(name, resolve_dir(dir))


def split_backends(backends: str | Iterable[str] | None) -> tuple[str, list[str]]:
    """``"local,wandb"`` -> (tracker name, backend names), every name checked against the registry."""
    if backends is None:  # nothing named: the configured tracker alone
        backends = os.environ.get(ENV_BACKENDS) or os.environ.get(ENV_TRACKER) or "local"
    names = [b.strip() for b in (backends.split(",") if isinstance(backends, str) else backends)]
    names = [n for n in names if n]
    registry = get_registry()
    trackers, sinks = registry.names("tracker"), registry.names("backend")
    tracker = os.environ.get(ENV_TRACKER) or "local"
    out: list[str] = []
    for n in names:
        if n in trackers:
            tracker = n
        elif n in sinks:
            if n not in out:
                out.append(n)
        else:
            from exptrack_core.errors import UnknownNameError
            raise UnknownNameError("backend", n, trackers + sinks)
    return tracker, out


class Run:
    """A run being recorded. Use as a context manager, or call ``finish()``."""

    def __init__(self, tracker: Any, run_id: str, info: RunInfo, fanout: Fanout):
        self.tracker = tracker
        self.id = run_id
        self.info = info
        self._fanout = fanout
        self._status: str | None = None
        self._lock = threading.Lock()
        self._stopper: Callable[["Run"], bool] | None = None
        self._stop_requested = False

    # what users read
    @property
    def experiment(self) -> str:
        return self.info.experiment

    @property
    def params(self) -> dict[str, Any]:
        return self.info.params

    @property
    def flat_params(self) -> dict[str, Any]:
        return flatten(self.info.params)

    @property
    def dir(self) -> Path:
        return self.info.run_dir

    @property
    def status(self) -> str:
        return self._status or "running"

    @property
    def checkpoint_dir(self) -> Path:
        """``checkpoints/`` in the run directory, created on first use. A sweep trial that is run
        again (killed, its node lost, the controller restarted) continues this same run, so what
        it saved here is here again, on whichever machine it now runs."""
        path = self.info.run_dir / CHECKPOINTS_DIR
        path.mkdir(exist_ok=True)
        return path

    @property
    def attempt(self) -> int:
        """Which attempt at its trial this run is (1 outside a sweep and on a first try)."""
        try:
            return max(1, int(os.environ.get(ENV_ATTEMPT, "1"))) if self.info.trial_id else 1
        except ValueError:
            return 1

    @property
    def resumed_from(self) -> int | None:
        """The attempt this one continues (its checkpoints and curve), None on a first attempt."""
        return self.attempt - 1 if self.attempt > 1 else None

    @property
    def backend_failures(self) -> dict[str, str]:
        return dict(self._fanout.failed)

    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record scalars at ``step`` (an int), or as final metrics when ``step`` is None."""
        self._check_open()
        values = check_metrics(metrics)
        step = check_step(step)
        ts = time.time()
        self.tracker.log_metrics(self.id, values, step, ts)
        self._fanout.send("log_metrics", values, step, ts)

    def log_sample(self, metrics: Mapping[str, Any], step: int | None, timestamp: float) -> bool:
        """Record values sampled on another thread (the ``system`` backend) in the run's own
        record, not mirrored to its backends; False once the run has ended: a sample is never
        written after the end (``finish`` waits for the one being written)."""
        with self._lock:
            if self._status is not None:
                return False
            self.tracker.log_metrics(self.id, check_metrics(metrics), check_step(step), timestamp)
            return True

    def _check_open(self) -> None:
        if self._status is not None:
            raise ExptrackError(f"run {self.id} is already {self._status}; start a new run to log more")

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._check_open()
        params = check_params(params)
        self.tracker.log_params(self.id, params)
        from exptrack_core.params import set_dotted
        for k, v in flatten(params).items():
            set_dotted(self.info.params, k, v)
        self._fanout.send("log_params", dict(params))

    def log_artifact(self, path: str | os.PathLike, name: str | None = None) -> Path:
        self._check_open()
        src = Path(path)
        dest = self.tracker.log_artifact(self.id, src, name or src.name)
        self._fanout.send("log_artifact", dest, dest.name)
        return dest

    def should_stop(self) -> bool:
        """The early-stopping verdict for this run after its latest step (inside a sweep)."""
        if not self._stop_requested and self.id in _stop_requests:
            self._stop_requested = True  # stopped from outside (an in-process trial's terminate)
        if not self._stop_requested and self._stopper is not None:
            self._stop_requested = bool(self._stopper(self))
        return self._stop_requested

    def finish(self, status: str = "completed", note: str | None = None) -> None:
        with self._lock:
            if self._status is not None:
                return
            ends = [s for s in FINAL_STATUSES if s != "crashed"]  # a sweep's record, not a program's
            if status not in ends:
                raise ExptrackError(
                    f"invalid final status {status!r}; expected one of {', '.join(ends)}")
            if status == "completed" and self._stop_requested:
                status = "pruned"
            self._status = status
        if not self._superseded():
            self.tracker.set_status(self.id, status, note=note)
        self.tracker.close(self.id)
        self._fanout.close(status)
        _active.discard(self)

    def _superseded(self) -> bool:
        """A sweep trial whose run the sweep already ended (a resumed sweep re-ran it while this
        process lived on as an orphan): its late finish must not turn that run completed."""
        if not (self.info.sweep_id and self.info.trial_id and os.environ.get(ENV_RUN_ID) == self.id):
            return False
        try:
            if self.tracker.read_run(self.tracker.run_dir(self.id)).get("status") in FINAL_STATUSES:
                return True
        except Exception:
            return False
        # a re-run continues the same run: a later attempt in the sweep's journal supersedes this one
        from exptrack_core.sweep.journal import SweepStore

        try:
            trial = SweepStore(self.tracker.root, self.info.sweep_id).trials().get(self.info.trial_id)
        except Exception:
            return False
        return trial is not None and trial.attempt > self.attempt

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish("completed")
        elif issubclass(exc_type, KeyboardInterrupt) or (
                issubclass(exc_type, SystemExit) and _signalled):
            self.finish("killed", note=f"{exc_type.__name__}")
        elif issubclass(exc_type, SystemExit) and exc.code in (0, None):
            self.finish("completed")
        else:
            self.finish("failed", note=f"{exc_type.__name__}: {exc}")

    def __repr__(self) -> str:
        return f"<Run {self.experiment}/{self.id} {self.status}>"


_active: set[Run] = set()
_stop_requests: set[str] = set()  # run ids whose should_stop() must say True


def request_stop(run_id: str) -> None:
    """Make ``should_stop()`` True for the run ``run_id`` in this process, now or once joined."""
    _stop_requests.add(run_id)


def withdraw_stop(run_id: str) -> None:
    _stop_requests.discard(run_id)
_signalled = False
_uncaught: list[BaseException] = []


def _on_sigterm(signum, frame):  # pragma: no cover - exercised through subprocess tests
    global _signalled
    _signalled = True
    for run in list(_active):
        run.finish("killed", note=f"signal {signum}")
    raise SystemExit(128 + signum)


def _excepthook(exc_type, exc, tb):
    _uncaught.append(exc)
    _previous_excepthook(exc_type, exc, tb)


def active_run(run_id: str) -> Run | None:
    """The run ``run_id`` if this process is recording it (what a backend's own thread logs to)."""
    return next((r for r in list(_active) if r.id == run_id), None)


def finish_active_runs() -> None:
    """Finish every run still open in this process: failed after an uncaught exception, else
    completed. Runs at interpreter exit; a backend whose library has exit hooks of its own (W&B)
    calls it first so its runs close while the library still works."""
    for run in list(_active):
        if _uncaught:
            run.finish("failed", note=f"{type(_uncaught[-1]).__name__}: {_uncaught[-1]}")
        else:
            run.finish("completed")


_previous_excepthook = sys.excepthook
_installed = False


def _install_handlers() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(finish_active_runs)
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_sigterm)


def check_joinable(tracker: Any, run_id: str, sweep_id: str | None, trial_id: str | None
                   ) -> dict[str, Any]:
    """``EXPTRACK_RUN_ID`` may name only the run a sweep created for this very trial, while it is
    pending: unfinished and not yet joined (the joining process records its context, pid
    included; the controller's context is the sweep's alone). Anything else is a stray id, e.g.
    inherited by a process the trial started, and taking its run over would overwrite it."""
    where = f"{ENV_RUN_ID}={run_id!r}"
    try:
        run = tracker.get_run(run_id)
    except ExptrackError:
        raise ExptrackError(f"{where} names no run under {str(tracker.root)!r}; unset it to "
                            "start a new run") from None
    if not run.get("sweep_id") or (run.get("sweep_id"), run.get("trial_id")) != (sweep_id, trial_id):
        raise ExptrackError(
            f"{where} is not a sweep trial's run for this process (run {run_id} is of experiment "
            f"{run.get('experiment_name')!r}, sweep {run.get('sweep_id')}, trial "
            f"{run.get('trial_id')}; {ENV_SWEEP_ID}={sweep_id}, {ENV_TRIAL_ID}={trial_id}); "
            "unset it to start a new run")
    if run.get("status") != "running":
        raise ExptrackError(f"{where}: trial {trial_id}'s run is {run.get('status')}, no longer "
                            "pending; unset it to start a new run")
    context = run.get("context") or {}
    if context.get("pid") is not None:
        raise ExptrackError(f"{where}: trial {trial_id}'s run was already joined by process "
                            f"pid {context['pid']} on host {context.get('hostname')}; a process "
                            "the trial started logs into a run of its own (unset it)")
    return run


def init(experiment: str | None = None, params: Mapping[str, Any] | None = None, *,
         tags: Mapping[str, Any] | None = None, description: str = "",
         backends: str | Iterable[str] | None = None, dir: str | os.PathLike | None = None,
         backend_options: Mapping[str, Mapping[str, Any]] | None = None,
         snapshot_params: str | os.PathLike | None = "params.yaml") -> Run:
    """Start a run, or join the sweep trial this process was launched for.

    Inside a sweep (``EXPTRACK_RUN_ID`` set by the executor) the run already exists: this process
    takes it over, its params are the trial's, and ``run.should_stop()`` asks the sweep's stopper.
    """
    run_dir_root = resolve_dir(dir)
    experiment = experiment or os.environ.get(ENV_EXPERIMENT) or DEFAULT_EXPERIMENT
    check_name("experiment", experiment)
    params = check_params(params or {})  # a run is never left half-written by a bad value
    if os.environ.get(PARAMS_ENV):
        params = apply_overrides(params, env_overrides(), strict=False)
    tracker_name, backend_names = split_backends(backends)
    registry = get_registry()
    tracker = registry.tracker(tracker_name, run_dir_root)
    sweep_id, trial_id = os.environ.get(ENV_SWEEP_ID), os.environ.get(ENV_TRIAL_ID)
    run_id = os.environ.get(ENV_RUN_ID)
    tag_map = {str(k): str(v) for k, v in (tags or {}).items()}
    if run_id:
        pending = check_joinable(tracker, run_id, sweep_id, trial_id)  # before any write
        tracker.set_status(run_id, "running")  # this process now owns the trial's run
        params = _keep_redacted(params, pending.get("params") or {})
        if hasattr(tracker, "log_context"):
            tracker.log_context(run_id, run_context.capture(params))
        if params:
            tracker.log_params(run_id, params)
        existing = tracker.get_run(run_id)
        params = existing["params"]
        experiment = existing["experiment_name"]
    else:
        snap = Path(snapshot_params) if snapshot_params else None
        run_id = tracker.create_run(
            experiment, params=params, tags=tag_map, description=description,
            context=run_context.capture(params), sweep_id=sweep_id, trial_id=trial_id,
            params_snapshot=snap)
    info = RunInfo(run_id=run_id, experiment=experiment, run_dir=tracker.run_dir(run_id),
                   params=params, tags=tag_map, description=description, sweep_id=sweep_id,
                   trial_id=trial_id)
    factories = {n: functools.partial(registry.backend, n) for n in backend_names}
    # backends get their own copy: Run.log_params changes info.params on the training thread
    mirrored = dataclasses.replace(info, params=copy.deepcopy(params), tags=dict(tag_map))
    run = Run(tracker, run_id, info, Fanout(factories, mirrored, dict(backend_options or {})))
    if sweep_id:
        from exptrack_core.sweep.stopping import attach_stopper
        attach_stopper(run)
    _active.add(run)
    _install_handlers()
    return run


def _keep_redacted(params: dict[str, Any], recorded: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's params with the values its sweep recorded redacted (a secret given with -S)
    redacted again: the program has the value from EXPTRACK_PARAMS; no record gets it."""
    from exptrack_core.params import set_dotted
    from exptrack_core.secrets import REDACTED, is_secret_name

    hidden = [k for k, v in flatten(recorded).items()
              if v == REDACTED and is_secret_name(k.rsplit(".", 1)[-1])]
    if not hidden:
        return params
    out = copy.deepcopy(params)
    flat = flatten(out)
    for key in hidden:
        if key in flat:
            set_dotted(out, key, REDACTED, create=False)
    return out


__all__ = ["DEFAULT_DIR", "Run", "active_run", "check_joinable", "finish_active_runs", "get_tracker",
           "init", "request_stop", "resolve_dir", "split_backends", "withdraw_stop"]
