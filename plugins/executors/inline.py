"""Runs each trial in this process, one at a time: for ``exptrack.sweep(objective, ...)``."""

from __future__ import annotations

import os
import traceback
from typing import Any, Mapping

from exptrack_core.sweep.launch import TrialExit, TrialLaunch


class InlineExecutor:
    workers = 1

    def __init__(self, options: Mapping[str, Any] | None = None):
        self._done: list[TrialExit] = []

    @property
    def free_slots(self) -> int:
        return 1

    def running(self) -> list[TrialLaunch]:
        return []

    def launch(self, trial: TrialLaunch) -> None:
        """Call ``objective(params)`` with the trial's env set, so ``exptrack.init()`` joins it."""
        saved = {k: os.environ.get(k) for k in trial.env}
        os.environ.update(trial.env)
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
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def poll(self) -> list[TrialExit]:
        done, self._done = self._done, []
        return done

    def cancel_all(self, grace: float = 0.0) -> list[TrialExit]:
        return self.poll()


__all__ = ["InlineExecutor"]
