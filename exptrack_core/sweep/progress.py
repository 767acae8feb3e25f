"""The live view of a sweep: done / running / pruned / failed and the best value so far."""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

from exptrack_core.cli.output import fmt_cell


class SweepProgress:
    """A rich progress bar on a terminal; one line per ended trial otherwise (logs, CI)."""

    def __init__(self, total: int | None, metric: str | None, stream: TextIO | None = None):
        self.total, self.metric = total, metric
        self.stream = stream or sys.stderr
        self.counts = {"running": 0, "completed": 0, "pruned": 0, "failed": 0, "killed": 0}
        self.best: Any = None
        self._bar = None
        if self.stream.isatty():
            try:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            except ImportError:
                return
            self._bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.description}"), TimeElapsedColumn(),
                                 transient=False)
            self._task = self._bar.add_task(self._line(), total=total)
            self._bar.start()

    def _line(self) -> str:
        c = self.counts
        best = "-" if self.best is None or self.best.value is None else fmt_cell(self.best.value)
        return (f"done {c['completed']}  running {c['running']}  pruned {c['pruned']}  "
                f"failed {c['failed']}  best {self.metric or 'value'} {best}")

    def started(self, trial: Any) -> None:
        self.counts["running"] += 1
        if self._bar is not None:
            self._bar.update(self._task, description=self._line())

    def ended(self, trial: Any, best: Any) -> None:
        self.counts["running"] = max(0, self.counts["running"] - 1)
        self.counts[trial.status] = self.counts.get(trial.status, 0) + 1
        self.best = best
        finished = sum(v for k, v in self.counts.items() if k != "running")
        if self._bar is not None:
            self._bar.update(self._task, completed=finished, description=self._line())
            return
        value = "" if trial.value is None or (isinstance(trial.value, float) and math.isnan(trial.value)) \
            else f" {self.metric}={fmt_cell(trial.value)}"
        of = f"/{self.total}" if self.total else ""
        print(f"[{finished}{of}] {trial.trial_id} {trial.status}{value}  ({self._line()})",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def started_line(store: Any, config: Any) -> str:
    """``sweep ID: grid over train.lr, train.wd -> DIR``: what runs, and where it is recorded."""
    points = (store.meta().get("settings") or {}).get("grid") or []  # an -S grid (setgrid.py)
    return (f"sweep {store.id}: {config.method} over {', '.join(config.space.names)}"
            + (f" under each of {len(points)} -S points" if points else "") + f" -> {store.dir}")


def outcome_line(outcome: Any) -> str:
    """``sweep ID completed: 4 completed, 1 pruned``: how a sweep ended."""
    counts = ", ".join(f"{v} {k}" for k, v in sorted(outcome.stats.items()))
    return (f"sweep {outcome.sweep_id} {outcome.status.replace('_', ' ')}: {counts or 'no trials'}"
            + (f" ({outcome.message})" if outcome.message else ""))


def best_line(outcome: Any) -> str:
    best = outcome.best
    seeds = best.extra.get("seeds")  # a seeded sweep's best: a configuration's mean
    return (f"best: trial {best.trial_id} (run {best.run_id}) "
            f"{outcome.metric or 'value'}={fmt_cell(best.value)}"
            + (f" (mean of {seeds} seeds)" if seeds else ""))


def final_lines(outcome: Any, store: Any) -> list[str]:
    """What the Python API prints when a sweep ends (the CLI prints its table around the same)."""
    from exptrack_core.run import get_tracker
    from exptrack_core.sweep.uploads import upload_hint

    lines = [outcome_line(outcome)] + ([best_line(outcome)] if outcome.best is not None else [])
    hint = upload_hint(outcome.trials, get_tracker(store.root))
    return lines + ([hint] if hint else [])


__all__ = ["SweepProgress", "best_line", "final_lines", "outcome_line", "started_line"]
