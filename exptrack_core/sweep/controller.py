"""The sweep loop: ask the strategy, launch trials through an executor, record every end, resume.

One controller drives a sweep (a lock refuses a second). Every trial is a run of the tracker
(``sweep_id``/``trial_id`` set), created before its program starts so that a program that dies
early is still recorded; the sweep's journal says which trials started and ended, so a resumed
sweep never re-runs a trial that ended and re-runs those that were in flight.

Around it: ``states`` (a trial's state machine, how an exit ends it), ``journal`` (where each move
is written), ``ledger`` (what the loop keeps of its trials), ``processes`` (orphans, SIGTERM),
``outcome`` (ranking, the result), ``curves``/``stopping`` (early stopping's input), ``reruns``
(which killed trials run again, and whether a re-run continues its run).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from exptrack_core.sweep.launch import TrialExit, TrialLaunch
from exptrack_core.params import PARAMS_ENV, tree_or_flat
from exptrack_core.plugin.registry import get_registry
from exptrack_core.sweep.asking import FixedPoints, Views, suggest  # noqa: F401 (FixedPoints: promote)
from exptrack_core.secrets import redact_params
from exptrack_core.run import (ENV_ATTEMPT, ENV_BACKENDS, ENV_DIR, ENV_EXPERIMENT, ENV_RUN_ID, ENV_SWEEP_ID,
                               ENV_TRACKER, ENV_TRIAL_ID, get_tracker, split_backends)
from exptrack_core.sweep.curves import TrialCurves
from exptrack_core.sweep.endedcurves import EndedCurveLog
from exptrack_core.sweep.journal import ENDED, SweepStore, TrialRecord
from exptrack_core.sweep.groups import best_of_groups
from exptrack_core.sweep.keys import watched_metric
from exptrack_core.sweep.ledger import TrialLedger
from exptrack_core.sweep.processes import (group_alive, interrupts_held, process_of,
                                           sigterm_interrupts, stop_orphan)
from exptrack_core.sweep.outcome import (SweepOutcome, better, log_objective_result,  # noqa: F401
                                         metric_value, rank_trials)
from exptrack_core.sweep.preflight import unlogged_metric
from exptrack_core.sweep.reruns import Reruns, left_in_flight
from exptrack_core.sweep.snapshot import SnapshotWriter
from exptrack_core.sweep.states import RERUN, exit_state_of
from exptrack_core.sweep.stopping import build_stopper
from exptrack_core.sweep.adapters import prepare_trial

POLL_S = 0.05
TERM_GRACE_S = 10.0  # how long a trial stopped for its time limit may take to exit before SIGKILL


class SweepRunner:
    def __init__(self, config: Any, store: SweepStore, *, executor: Any = "local",
                 executor_options: dict[str, Any] | None = None, backends: str | None = None,
                 max_failures: int = 3, max_retries: int = 1, seed: int | None = None,
                 cwd: Path | None = None,
                 fixed: dict[str, Any] | None = None, objective: Callable | None = None,
                 progress: Any = None, strategy: Any = None, trial_timeout: float | None = None):
        self.config = config
        self.store = store
        self.meta = store.meta()
        self.experiment = self.meta["experiment"]
        self.tracker_name = split_backends(backends)[0]  # --backend may name the tracker
        self.tracker = get_tracker(store.root, self.tracker_name)
        registry = get_registry()
        self.strategy = strategy or registry.strategy(
            config.method, config.space, config.to_dict(), seed)
        self.executor = executor if not isinstance(executor, str) else build_executor(
            executor, {**(executor_options or {}), "cwd": cwd or os.getcwd()})
        metric = config.metric
        self.metric = metric.name if metric else None
        self.goal = metric.goal if metric else "maximize"
        self.target = metric.target if metric else None
        self.run_cap = config.run_cap
        self.backends = backends
        self.max_failures = max_failures
        self.max_retries = max_retries
        self.cwd = Path(cwd or os.getcwd())
        self.fixed = dict(fixed or {})
        self.objective = objective
        self.progress = progress
        self.trials: dict[str, TrialRecord] = {}
        self.ledger = TrialLedger(self.goal)
        self.reruns = Reruns(self.tracker, max_retries)
        self.failures_in_a_row = 0
        self.message = ""
        self.followers: dict[str, Any] = {}   # trials whose scripts' own records we follow
        self.pruning: set[str] = set()
        self.trial_timeout = trial_timeout if trial_timeout is not None else config.trial_timeout
        self.timing_out: set[str] = set()
        self._followed_at = 0.0
        self._stopper = build_stopper(config.to_dict()) if config.early_terminate else None
        watched = watched_metric(config.to_dict())[0]  # a multi-objective sweep watches one objective
        self._curves = TrialCurves(self.tracker, watched) if self._stopper and watched else None
        self._ended_curves = EndedCurveLog(store.dir)

    # -- bookkeeping (kept by the ledger as trials move) ---------------------------------------
    def history(self) -> Views:
        return self.ledger.views

    def best(self) -> TrialRecord | None:
        if getattr(self.config, "seeds", None):  # a configuration's result: its mean over seeds
            return best_of_groups(self.trials.values(), self.goal, self.config.seed_key)
        return self.ledger.best

    def counted(self) -> int:
        return self.ledger.counted()

    def _track(self, t: TrialRecord) -> None:
        self.ledger.track(t)
        if self._curves is not None:
            self._curves.track(t.trial_id, t.run_id, ended=not t.in_flight)

    def _next_trial_id(self) -> str:
        return f"t{len(self.trials) + 1:04d}"

    # -- resume ---------------------------------------------------------------------------------
    def recover(self) -> None:
        """Read the journal; settle trials that were in flight when the last controller stopped."""
        self.trials = self.store.trials()
        for t in self.trials.values():
            self._track(t)
        for t in list(self.trials.values()):
            if not t.in_flight:
                continue
            run = self._read_run(t)
            orphan = run.get("status") == "running" or group_alive(t.process)
            if orphan:
                # an orphan of the killed controller, still running: stop it (or let it finish
                # within the grace period), so it never completes beside its re-run
                stop_orphan(t.process, run.get("owner"))
                run = self._read_run(t)
            status = run.get("status")
            if status in ENDED:  # it finished; only its end was not journaled
                self._end(t, status, metric_value(run, self.metric), run.get("note"))
                continue
            end, why = left_in_flight(t, status, stopped=orphan)
            try:
                self.tracker.set_status(t.run_id, end, note=why)
            except Exception:
                pass
            self._end(t, end, None, f"{why}; re-run")
            self.reruns.add(t)

    def _read_run(self, t: TrialRecord) -> dict[str, Any]:
        try:
            return self.tracker.read_run(self.tracker.run_dir(t.run_id))
        except Exception:
            return {"status": "crashed", "summary": {}}

    def _end(self, t: TrialRecord, status: str, value: float | None, note: str | None) -> None:
        if self._curves is not None:  # its final curve, before its end: trials read it, not its history
            try:
                self._ended_curves.append(t.trial_id, self._curves.metric,
                                          self._curves.finish(t.trial_id))
            except OSError:
                pass  # trials read its history instead
        self.store.record_end(t, status, value, note)  # refuses a move the state machine forbids
        self._track(t)
        if self._snapshots is not None:
            self._snapshots.ended()

    # -- launching ------------------------------------------------------------------------------
    def _launch(self, params: dict[str, Any]) -> TrialRecord:
        full = {**params, **self.fixed}  # -S on the command line beats the config
        # a secret given with -S reaches the trial through its environment, never a file
        recorded = {**full, **redact_params({k: v for k, v in self.fixed.items() if k in full})}
        resumed = self.reruns.continued(params)  # None: a new trial (see reruns)
        # a re-run from a checkpoint continues its trial: same id, same run, next attempt
        trial_id = resumed.trial_id if resumed is not None else self._next_trial_id()
        inner = getattr(self.strategy, "inner", self.strategy)  # a TrialFeed wraps the strategy
        label = getattr(inner, "label", None)  # exptrack batch: each point is named
        experiment, description = label(trial_id, params) if label else (
            self.experiment, f"trial {trial_id} of sweep {self.store.id}")
        attempt = self.ledger.next_attempt(recorded)
        if resumed is not None:
            run_id = resumed.run_id
            self.reruns.reopen(run_id, attempt, self.store.id)
        else:
            run_id = self.tracker.create_run(
                experiment, params=tree_or_flat(recorded), tags={"sweep": self.store.id},
                description=description, sweep_id=self.store.id,
                trial_id=trial_id, context={"sweep": self.store.id})
        record = TrialRecord(trial_id, run_id, recorded, started_at=time.time(), attempt=attempt)
        with interrupts_held():  # journaled means in flight: Ctrl+C's clean-up must see it
            self.trials[trial_id] = record
            self.store.record_start(record)
            self._track(record)
        env = {ENV_DIR: str(Path(self.store.root).resolve()), ENV_RUN_ID: run_id,
               ENV_SWEEP_ID: self.store.id, ENV_TRIAL_ID: trial_id,
               ENV_EXPERIMENT: experiment, PARAMS_ENV: json.dumps(full, default=str),
               ENV_ATTEMPT: str(attempt if resumed is not None else 1)}  # what the run continues
        # A trial logs where the sweep says, not where the program's own defaults say (several
        # trials writing the workspace's DVC metrics files at once would clobber each other).
        # The trial records where the controller reads: the same tracker, whatever it is.
        env[ENV_TRACKER] = self.tracker_name
        env[ENV_BACKENDS] = self.backends or getattr(self.executor, "default_backends",
                                                     self.tracker_name)
        launch = TrialLaunch(trial_id, run_id, full, env, self.tracker.run_dir(run_id),
                             cwd=self.cwd, objective=self.objective,
                             name=f"{self.store.id}-{trial_id}", program=self.config.program,
                             recorded=recorded)
        if self.objective is None:
            from exptrack_core.sweep.macros import expand_command

            # what another library's scripts expect (W&B: what `wandb agent` gives them)
            follower = prepare_trial(launch, self.config.space, self.tracker)
            if follower is not None:
                self.followers[trial_id] = follower
            wargs = self.config.space.agent_args(full)  # W&B's names: flat, nested blocks renested

            cmd = expand_command(wargs, self.config.command, program=self.config.program,
                                 environ={**os.environ, **env}, json_dir=launch.run_dir)
            launch.argv = cmd.argv
            launch.cleanup = [cmd.json_file] if cmd.json_file else []
        self.executor.launch(launch)
        self.store.record_launch(record, process_of(launch.pid))
        if self.progress:
            self.progress.started(record)
        return record

    def _settle(self, done: TrialExit) -> TrialRecord:
        for path in done.trial.cleanup:
            try:
                os.unlink(path)
            except OSError:
                pass
        t = self.trials[done.trial.trial_id]
        follower = self.followers.pop(t.trial_id, None)
        if follower is not None:
            follower.finish()
        self.tracker.close(t.run_id)
        run = self.tracker.read_run(self.tracker.run_dir(t.run_id))
        recorded, note = run.get("status"), run.get("note")
        if self.objective is not None and done.returncode == 0 and done.result is not None:
            log_objective_result(self.tracker, t.run_id, done.result, self.metric)
            run = self.tracker.read_run(self.tracker.run_dir(t.run_id))
        status, note, write = exit_state_of(
            recorded, note, done.returncode, done.error, pruned=t.trial_id in self.pruning,
            timed_out=self.trial_timeout if t.trial_id in self.timing_out else None,
            lost=getattr(done, "lost", None))
        self.timing_out.discard(t.trial_id)
        self.pruning.discard(t.trial_id)
        if write:  # the run's record follows the trial's state
            self.tracker.set_status(t.run_id, status, note=note)
        if status in RERUN and not self._stopping:
            status, note = self.reruns.retry_or_fail(t, status, done.returncode, note)
        value = metric_value(run, self.metric)
        self._end(t, status, value, note)
        if status in ("failed",) + RERUN and not self._stopping:
            self.failures_in_a_row += 1  # a trial killed under a live sweep is a failure too
        elif status in ("completed", "pruned"):
            self.failures_in_a_row = 0
        if self.progress:
            self.progress.ended(t, self.best())
        return t

    def _settle_ended(self) -> None:
        # what poll() returned is known to no one else: Ctrl+C must not drop it half-settled
        with interrupts_held():
            for done in self.executor.poll():
                self._settle(done)

    # -- the loop -------------------------------------------------------------------------------
    _stopping = False
    _snapshots: SnapshotWriter | None = None  # what trials start their verdicts from (snapshot.py)

    def _reached_target(self) -> bool:
        if self.target is None:
            return False
        best = self.best()
        if best is None or best.value is None:
            return False
        return best.value >= self.target if self.goal == "maximize" else best.value <= self.target

    def run(self) -> SweepOutcome:
        self.store.acquire()
        restore = sigterm_interrupts()
        try:
            self.recover()
            # from the config as trials read it (sweep.json), not as this controller parsed it
            self._snapshots = SnapshotWriter.start(self.store, self.store.meta()["config"])
            status = self._loop()
        except KeyboardInterrupt:
            self._cancel_all()
            status, self.message = "interrupted", "interrupted: running trials were marked killed"
        finally:
            if self._snapshots is not None:
                self._snapshots.flush()
            restore()
            self.store.release()
        self.store.set_status(status)
        return SweepOutcome(self.store.id, status, list(self.trials.values()), self.best(),
                            self.metric, self.goal, self.message, self.store, self.stats())

    def _cancel_all(self) -> None:
        """Stop every trial; one the executor never started (stopped between its record and
        its launch) ends killed too, so no trial of a stopped sweep is left in flight."""
        self._stopping = True
        for done in self.executor.cancel_all():
            self._settle(done)
        for trial_id in list(self.ledger.in_flight):
            t = self.trials[trial_id]
            try:
                self.tracker.set_status(t.run_id, "killed", note="the sweep stopped before it ran")
            except Exception:
                pass
            self._end(t, "killed", None, "the sweep stopped before it ran")

    def stats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials.values():
            out[t.status] = out.get(t.status, 0) + 1
        return out

    def _follow(self) -> None:
        """Import followed trials' new history (W&B scripts...); prune them when the stopper says so."""
        now = time.time()
        if not self.followers or now - self._followed_at < 0.25:
            return
        self._followed_at = now
        for trial_id, follower in list(self.followers.items()):
            if follower.poll() and self._curves is not None and trial_id not in self.pruning:
                if self._stopper.should_stop(trial_id, self._curves.refresh()):
                    self.pruning.add(trial_id)
                    self.executor.terminate(trial_id)

    def _enforce_timeout(self) -> None:
        """Stop (SIGTERM, grace, SIGKILL: the executor's terminate) trials past their time limit."""
        if self.trial_timeout is None:
            return
        now = time.time()
        for launch in self.executor.running():
            t = self.trials.get(launch.trial_id)
            if t is not None and t.trial_id not in self.timing_out and \
                    now - t.started_at > self.trial_timeout:
                self.timing_out.add(t.trial_id)
                self.executor.terminate(t.trial_id, grace=TERM_GRACE_S)

    def _loop(self) -> str:
        exhausted = False
        while True:
            self._follow()
            self._enforce_timeout()
            self._settle_ended()
            if self.failures_in_a_row >= self.max_failures:
                self._cancel_all()
                last = next((t for t in reversed(self.trials.values()) if t.status == "failed"), None)
                self.message = (f"stopped: {self.failures_in_a_row} trials failed in a row "
                                f"(--max-failures {self.max_failures}); last error: "
                                f"{(last.note or '').splitlines()[-1:] or ''}")
                return "failed"
            missing = unlogged_metric(self.metric, self.trials.values(), self.tracker)
            if missing:  # every further trial would end the same way
                self._cancel_all()
                self.message = missing
                return "failed"
            if self._reached_target():
                self._cancel_all()
                self.message = f"target {self.metric}={self.target} reached"
                return "completed"
            capped = self.run_cap is not None and self.counted() >= self.run_cap
            # a killed trial is re-run even once the strategy has nothing new to suggest
            while (self.reruns or not exhausted) and not capped and self.executor.free_slots > 0:
                if self.reruns and getattr(self.strategy, "closed", lambda: False)():
                    self.reruns.clear()  # a re-run is a new attempt: none after the time budget
                    exhausted = True
                    break
                params = self.reruns.next() if self.reruns else suggest(
                    self.strategy, self.history(), self._next_trial_id())
                if params is None:
                    exhausted = True
                    break
                self._launch(params)
                capped = self.run_cap is not None and self.counted() >= self.run_cap
                self._settle_ended()  # an inline trial has already ended
            if not self.executor.running() and not self.ledger.in_flight:
                if (exhausted and not self.reruns) or capped:
                    self.message = ("run_cap reached" if capped else "search space exhausted")
                    return "completed"
            time.sleep(POLL_S)


def build_executor(name: str, options: dict[str, Any]) -> Any:
    """An executor, built before a sweep's record exists so a bad setup leaves nothing behind."""
    return get_registry().executor(name, options)


__all__ = ["FixedPoints", "build_executor", "rank_trials", "SweepOutcome", "SweepRunner", "better", "metric_value"]
