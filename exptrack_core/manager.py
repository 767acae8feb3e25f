"""``ExperimentManager``: the analysis API of the grid-search guides, over exptrack's records.

    manager = ExperimentManager()                       # ./experiments (or $EXPTRACK_DIR)
    exp_id, value = manager.get_best_experiment(metric="val_acc", mode="max")
    results = manager.load_results(exp_id)              # results["val_acc"], results["config"]
    summary = manager.summarize_sweep(sweep_id)         # summary["total_experiments"], ["experiments"]

An experiment id is a run id (a unique prefix is enough). Nothing is written: every answer is
read from the runs' records through the tracker, so it is the same as ``exptrack best``/``compare``.
"""

from __future__ import annotations

import math
import os
from datetime import datetime
from typing import Any

from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.facade import ExperimentTracker
from exptrack_core.params import flatten
from exptrack_core.query import best_run, check_mode
from exptrack_core.run import resolve_dir


def _seconds(start: Any, end: Any) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


class ExperimentManager:
    def __init__(self, base_dir: str | os.PathLike | None = None):
        self.base_dir = resolve_dir(base_dir)
        self.tracker = ExperimentTracker(self.base_dir)

    def get_best_experiment(self, metric: str = "val_acc", mode: str = "max",
                            experiment_name: str | None = None) -> tuple[str, float]:
        """``(exp_id, value)``: the run with the best final ``metric`` (NaN and inf never win)."""
        check_mode(mode)
        runs = self.tracker.list_runs(experiment_name)
        if not runs:
            raise ExptrackError(f"no runs under {str(self.base_dir)!r}")
        found = best_run(runs, metric, mode)
        if found is None:
            raise ExptrackError(f"no run has a finite value of {metric!r}")
        run, value = found
        return run["run_id"], value

    def load_results(self, exp_id: str) -> dict[str, Any]:
        """One run as the guide's ``summary.json``: ``exp_id``, ``config`` (flat params), each
        metric's final value, ``train_time_seconds``, ``history`` (values by metric) and ``status``."""
        return self._results(self.tracker.get_run(exp_id))

    @staticmethod
    def _results(run: dict[str, Any]) -> dict[str, Any]:
        history = {name: [p["value"] for p in points] for name, points in run["metrics"].items()
                   if any(p["step"] is not None for p in points)}
        finals = {name: s["last"] for name, s in (run.get("summary") or {}).items()}
        out: dict[str, Any] = {"exp_id": run["run_id"], "experiment": run["experiment_name"],
                               "config": flatten(run.get("params") or {})}
        out.update(finals)
        out.setdefault("train_time_seconds", _seconds(run.get("created_at"), run.get("finished_at")))
        out.update(history=history, status=run["status"])
        if run.get("sweep_id"):
            out.update(sweep_id=run["sweep_id"], trial_id=run.get("trial_id"))
        return out

    def summarize_sweep(self, sweep_id: str, metric: str | None = None,
                        mode: str | None = None) -> dict[str, Any]:
        """Every trial of a sweep, best first by the sweep's metric (or ``metric``/``mode``):
        ``{"sweep_id", "metric", "mode", "total_experiments", "best_exp_id", "best_value",
        "experiments": [{"exp_id", "config", "results"}, ...]}``."""
        from exptrack_core.sweep.journal import SweepStore

        store = SweepStore.open(self.base_dir, sweep_id)  # an unknown id names those that exist
        spec = (store.meta().get("config") or {}).get("metric") or {}
        if isinstance(spec, list):  # several objectives: the first ranks unless told
            spec = spec[0] if spec else {}
        metric = metric or spec.get("name")
        mode = check_mode(mode or ("min" if spec.get("goal") == "minimize" else "max"))
        runs = [r for r in self.tracker.list_runs() if r.get("sweep_id") == sweep_id]
        experiments = []
        for run in runs:
            results = self._results(self.tracker.get_run(run["run_id"]))
            experiments.append({"exp_id": run["run_id"], "config": results["config"],
                                "results": results})
        if metric and experiments and not any(metric in e["results"] for e in experiments):
            raise UnknownNameError("metric", metric, sorted(
                {k for e in experiments for k in (e["results"] or {}) if k not in
                 ("exp_id", "experiment", "config", "history", "status", "sweep_id", "trial_id")}))

        def key(e: dict[str, Any]) -> tuple[bool, float]:
            v = e["results"].get(metric)
            finite = isinstance(v, (int, float)) and math.isfinite(v)
            return (not finite, (-v if mode == "max" else v) if finite else 0.0)

        if metric:
            experiments.sort(key=key)
        best = experiments[0] if experiments and metric and not key(experiments[0])[0] else None
        return {"sweep_id": sweep_id, "metric": metric, "mode": mode,
                "total_experiments": len(experiments),
                "best_exp_id": best["exp_id"] if best else None,
                "best_value": best["results"][metric] if best else None,
                "experiments": experiments}


__all__ = ["ExperimentManager"]
