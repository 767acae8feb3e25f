"""Runs each trial in this process, one at a time: for ``exptrack.sweep(objective, ...)``.

An in-process trial cannot be signalled: ``terminate`` stops it cooperatively, by making its
run's ``should_stop()`` True (the objective is expected to check it each step, as a pruned trial
does), and the trial ends when the objective returns."""

from __future__ import annotations

import os
import traceback
from typing import Any, Mapping

from exptrack_core.run import request_stop, withdraw_stop
from exptrack_core.sweep.launch import TrialExit, TrialLaunch


class InlineExecutor:
    workers = 1

    def __init__(self, options: Mapping[str, Any] | None = None):
        self._done: list[TrialExit] = []
        self._current: TrialLaunch | None = None  # the trial whose objective runs now

    @property
    def free_slots(self) -> int:
        return 1

    def running(self) -> list[TrialLaunch]:
        current = self._current
        return [current] if current is not None else []

    def launch(self, trial: TrialLaunch) -> None:
        """Call ``objective(params)`` with the trial's env set, so ``exptrack.init()`` joins it."""
        saved = {k: os.environ.get(k) for k in trial.env}
        os.environ.update(trial.env)
        self._current = trial
        try:
            result = trial.objective(dict(trial.params))
            self._done.append(TrialExit(trial, 0, result=result))
        except KeyboardInterrupt:
            self._done.append(TrialExit(trial, 130, error="KeyboardInterrupt"))
            raise
        except Exception as exc:
            tail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self._done.append(TrialExit(trial, 1, error=tail))
        finally:
            self._current = None
            withdraw_stop(trial.run_id)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def poll(self) -> list[TrialExit]:
        done, self._done = self._done, []
        return done

    def terminate(self, trial_id: str, grace: float = 10.0) -> None:
        """Ask the running trial to stop (its ``run.should_stop()`` turns True); never blocks.
        ``grace`` cannot be enforced in-process: the objective returns when it next checks."""
        current = self._current
        if current is not None and current.trial_id == trial_id:
            request_stop(current.run_id)

    def cancel_all(self, grace: float = 0.0) -> list[TrialExit]:
        current = self._current
        if current is not None:
            self.terminate(current.trial_id, grace)
        return self.poll()


__all__ = ["InlineExecutor"]
