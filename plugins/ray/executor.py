"""The ``ray`` executor, controller side: each trial a Ray actor that holds the trial's resources.

The controller's experiments directory stays the one system of record and no node needs to see
it: the trial's run directory is shipped to the node at launch (``node.TrialRunner``), and what the
trial writes there comes back with each ``pull`` (about every half second) and is written through
the controller's tracker (``sync.apply_batch``). Early stopping is decided here, from the
controller's records, with the sweep's own stopper, and sent to the node as a stop flag.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.run import ENV_DIR, ENV_SWEEP_ID, get_tracker
from exptrack_core.sweep.launch import TrialExit, TrialLaunch, redacted_stderr
from exptrack_plugins.ray.cluster import Cluster, trial_resources
from exptrack_plugins.ray.sync import apply_batch, snapshot

LOST_NODE = -9  # the return code given for a trial whose node (or actor) died under it (with
                # TrialExit.lost set: it ends crashed) or that was stopped with the sweep


class _Trial:
    def __init__(self, launch: TrialLaunch, actor: Any):
        self.launch, self.actor = launch, actor
        self.pull: Any = None
        self.started_at = time.monotonic()
        self.node: dict[str, Any] | None = None
        self.verdict: Any = None
        self.view: Any = None
        self.stop_sent = False
        self.failed: tuple[str, str] | None = None  # (status, why) when the controller ended it


class RayExecutor:
    default_backends = "local"

    def __init__(self, options: Mapping[str, Any] | None = None):
        options = dict(options or {})
        self.request = trial_resources(options)
        root = Path(options["dir"]) if options.get("dir") else None
        self.cluster = Cluster(options.get("ray_address"), Path(options.get("cwd") or os.getcwd()), root)
        self.cluster.wait_for(self.request)  # a request no node can meet fails here, not later
        self.max_concurrent = options.get("max_concurrent")
        self._trials: dict[str, _Trial] = {}
        self._ended: list[TrialExit] = []
        self._trackers: dict[str, Any] = {}

    # -- the Executor protocol --------------------------------------------------------------------
    @property
    def free_slots(self) -> int:
        fits = self.cluster.capacity(self.request)
        if self.max_concurrent:
            fits = min(fits, self.max_concurrent)
        return max(0, fits - len(self._trials))

    def running(self) -> list[TrialLaunch]:
        return [t.launch for t in self._trials.values()]

    def launch(self, trial: TrialLaunch) -> None:
        from exptrack_plugins.ray.node import TrialRunner

        if not trial.argv:
            raise ExptrackError("executor 'ray' runs a sweep's program on the cluster; a Python "
                                "objective runs with executor 'inline' or 'local'")
        def forms(path: Any) -> list[str]:  # as the trial's env and argv may spell it
            return list(dict.fromkeys([str(Path(path).resolve()), str(path)]))

        spec = {"run_id": trial.run_id, "experiment": Path(trial.run_dir).parent.name,
                "run_dirs": forms(trial.run_dir), "roots": forms(trial.env[ENV_DIR]),
                "env": dict(trial.env), "argv": list(trial.argv), "python": sys.executable,
                "files": snapshot(Path(trial.run_dir))}
        actor = TrialRunner.options(**self.request, max_restarts=0).remote(spec)
        t = self._trials[trial.trial_id] = _Trial(trial, actor)
        t.pull = actor.pull.remote()

    def poll(self) -> list[TrialExit]:
        import ray

        pulls = {t.pull: t for t in self._trials.values() if t.pull is not None}
        if pulls:
            ready, _ = ray.wait(list(pulls), num_returns=len(pulls), timeout=0)
            for ref in ready:
                self._receive(pulls[ref], ref)
        self._check_waiting()
        ended, self._ended = self._ended, []
        return ended

    def terminate(self, trial_id: str, grace: float = 10.0) -> None:
        t = self._trials.get(trial_id)
        if t is not None:
            t.actor.terminate.remote(grace)

    def cancel_all(self, grace: float = 10.0) -> list[TrialExit]:
        """SIGTERM every trial on its node, take in what they write as they stop (each marks its
        run killed), then end every actor: nothing is left running on the cluster."""
        import ray

        for t in self._trials.values():
            t.actor.terminate.remote(grace)
        deadline = time.monotonic() + grace + 2
        while self._trials and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.05)
        for trial_id, t in list(self._trials.items()):
            ray.kill(t.actor)
            t.failed = ("killed", "stopped with the sweep")
            self._finish(trial_id, t, LOST_NODE)
        ended, self._ended = self._ended, []
        return ended

    # -- taking in what a node sent ---------------------------------------------------------------
    def _tracker(self, trial: TrialLaunch) -> Any:
        root = trial.env[ENV_DIR]
        if root not in self._trackers:
            self._trackers[root] = get_tracker(root)
        return self._trackers[root]

    def _receive(self, t: _Trial, ref: Any) -> None:
        import ray

        trial_id = t.launch.trial_id
        try:
            batch = ray.get(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError,
                ray.exceptions.ObjectLostError) as exc:
            where = f" on {t.node['host']} (node {t.node['node_id'][:12]})" if t.node else ""
            # no exit status came back: "crashed" (Ray Tune's ERROR of a lost actor); re-run
            t.failed = ("crashed", f"crashed: the Ray node running it was lost{where} "
                                   f"({type(exc).__name__})")
            self._finish(trial_id, t, LOST_NODE, lost=t.failed[1])
            return
        tracker = self._tracker(t.launch)
        ray_ctx = {"ray": {k: batch["node"][k] for k in ("node_id", "host", "ip")}}
        if t.node is None:  # its first word: say where it runs before the program does
            t.node = batch["node"]
            current = tracker.get_run(t.launch.run_id).get("context") or {}
            tracker.log_context(t.launch.run_id, {**current, **ray_ctx})
        if apply_batch(tracker, t.launch.run_id, batch, ray_ctx):
            self._ask_stopper(t, tracker)
        if batch["exit"] is not None:
            self._finish(trial_id, t, batch["exit"])
        else:
            t.pull = t.actor.pull.remote()

    def _ask_stopper(self, t: _Trial, tracker: Any) -> None:
        """The sweep's stopper, asked as a local trial's ``run.should_stop()`` asks it, from the
        controller's records; a stop goes to the node as a flag."""
        if t.stop_sent or not t.launch.env.get(ENV_SWEEP_ID):
            return
        if t.verdict is None:
            from exptrack_core.sweep.stopping import attach_stopper

            view = SimpleNamespace(id=t.launch.run_id, tracker=tracker, _stopper=False,
                                   info=SimpleNamespace(sweep_id=t.launch.env[ENV_SWEEP_ID],
                                                        trial_id=t.launch.trial_id))
            attach_stopper(view)
            t.verdict = view._stopper or (lambda _view: False)
            t.view = view
        if t.verdict(t.view):
            t.stop_sent = True
            t.actor.stop.remote()

    def _finish(self, trial_id: str, t: _Trial, code: int, lost: str | None = None) -> None:
        self._trials.pop(trial_id, None)
        tracker = self._tracker(t.launch)
        if t.failed:
            status, why = t.failed
            with open(Path(t.launch.run_dir) / "stderr.log", "a") as err:
                err.write(f"exptrack: {why}\n")
            if tracker.get_run(t.launch.run_id).get("status") == "running":  # it could not say so
                tracker.set_status(t.launch.run_id, status, note=why)
        else:
            t.actor.close.remote()  # frees the node's scratch; the actor ends with its handle
        tracker.close(t.launch.run_id)  # the controller's runner writes its end next
        tail = redacted_stderr(t.launch)
        self._ended.append(TrialExit(t.launch, code, tail if code != 0 else None, lost=lost))

    def _check_waiting(self) -> None:
        """A trial Ray cannot place (its node is gone and no other offers what it asks) ends
        failed, naming what is missing, instead of waiting for ever."""
        for trial_id, t in list(self._trials.items()):
            if t.node is None and time.monotonic() - t.started_at > self.cluster.wait_s:
                missing = self.cluster.missing(self.request)
                if missing:
                    import ray

                    ray.kill(t.actor)
                    t.failed = ("failed", missing)
                    self._finish(trial_id, t, 1)


__all__ = ["RayExecutor"]
