"""A tracker whose whole record of a run is one append-only file of JSON events.

Written against ``exptrack.plugin.Tracker`` alone: its docstrings say what each method receives
and what the dicts it returns hold. Every call the core makes is also appended to the file named
by ``CONFORMANCE_CALLS`` (method, positional count, keyword names), so the test can check each
call against the Protocol's own signature.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

from exptrack.plugin import FINAL_STATUSES, ExptrackError

from .calls import recorded

EVENTS = "events.jsonl"


def _append(run_dir: Path, event: dict[str, Any]) -> None:
    # one write of one line per event: concurrent writers (controller, trial) never interleave
    with open(run_dir / EVENTS, "a") as f:
        f.write(json.dumps({**event, "at": time.time()}, default=str) + "\n")


class EventsTracker:
    def __init__(self, root: Path):
        self.root = Path(root)

    @recorded("tracker")
    def create_run(self, experiment: str, *, params: Mapping[str, Any] | None = None,
                   tags: Mapping[str, str] | None = None, description: str = "",
                   context: Mapping[str, Any] | None = None, sweep_id: str | None = None,
                   trial_id: str | None = None, params_snapshot: Path | None = None) -> str:
        run_id = uuid.uuid4().hex[:12]
        run_dir = self.root / experiment / run_id
        run_dir.mkdir(parents=True)
        _append(run_dir, {"event": "create", "run_id": run_id, "experiment": experiment,
                          "params": dict(params or {}), "tags": dict(tags or {}),
                          "description": description, "context": dict(context or {}),
                          "sweep_id": sweep_id, "trial_id": trial_id})
        return run_id

    @recorded("tracker")
    def run_dir(self, run_id: str) -> Path:
        found = [p for p in self.root.glob(f"*/{run_id}") if (p / EVENTS).is_file()]
        if not found:
            raise ExptrackError(f"no run {run_id!r} under {str(self.root)!r}")
        return found[0]

    @recorded("tracker")
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        _append(self.run_dir(run_id), {"event": "params", "params": dict(params)})

    @recorded("tracker")
    def log_context(self, run_id: str, context: Mapping[str, Any]) -> None:
        _append(self.run_dir(run_id), {"event": "context", "context": dict(context)})

    @recorded("tracker")
    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int | None,
                    timestamp: float) -> None:
        _append(self.run_dir(run_id), {"event": "metrics", "metrics": dict(metrics),
                                       "step": step, "timestamp": timestamp})

    @recorded("tracker")
    def log_artifact(self, run_id: str, path: Path, name: str) -> Path:
        run_dir = self.run_dir(run_id)
        dest = run_dir / "artifacts" / name
        dest.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, dest)
        _append(run_dir, {"event": "artifact", "name": name})
        return dest

    @recorded("tracker")
    def set_status(self, run_id: str, status: str, *, note: str | None = None) -> None:
        _append(self.run_dir(run_id), {"event": "status", "status": status, "note": note})

    @recorded("tracker")
    def close(self, run_id: str) -> None:
        pass  # nothing is held open between calls

    # -- reading --------------------------------------------------------------------------------
    @recorded("tracker")
    def read_run(self, run_dir: Path, *, history: bool = False) -> dict[str, Any]:
        run: dict[str, Any] = {"status": "running", "note": None, "finished_at": None,
                               "summary": {}, "run_dir": str(run_dir)}
        metrics: dict[str, list[dict[str, Any]]] = {}
        artifacts: list[str] = []
        for e in _events(Path(run_dir)):
            kind = e["event"]
            if kind == "create":
                run.update(run_id=e["run_id"], experiment_name=e["experiment"],
                           params=e["params"], tags=e["tags"], description=e["description"],
                           context=e["context"], sweep_id=e["sweep_id"], trial_id=e["trial_id"],
                           created_at=_iso(e["at"]))
            elif kind == "params":
                run["params"] = {**run.get("params", {}), **e["params"]}
            elif kind == "context":
                run["context"] = e["context"]
            elif kind == "status":
                run["status"], run["note"] = e["status"], e["note"]
                run["finished_at"] = _iso(e["at"]) if e["status"] in FINAL_STATUSES else None
            elif kind == "artifact":
                artifacts.append(e["name"])
            elif kind == "metrics":
                for name, value in e["metrics"].items():
                    s = run["summary"].setdefault(name, {"last": None, "min": None, "max": None,
                                                         "count": 0, "step": None})
                    s["last"], s["step"], s["count"] = value, e["step"], s["count"] + 1
                    s["min"] = value if s["min"] is None else min(s["min"], value)
                    s["max"] = value if s["max"] is None else max(s["max"], value)
                    metrics.setdefault(name, []).append(
                        {"step": e["step"], "value": value, "timestamp": e["timestamp"]})
        if "run_id" not in run:
            raise ExptrackError(f"{run_dir}: not a run of this tracker")
        if history:
            run["metrics"], run["artifacts"] = metrics, artifacts
        else:
            run.pop("context", None)
        return run

    @recorded("tracker")
    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.read_run(self.run_dir(run_id), history=True)

    @recorded("tracker")
    def list_runs(self, experiment: str | None = None, *, errors: list[str] | None = None
                  ) -> list[dict[str, Any]]:
        runs = []
        for run_dir in sorted(self.root.glob(f"{experiment or '*'}/*/{EVENTS}")):
            try:
                runs.append(self.read_run(run_dir.parent))
            except (OSError, ValueError, KeyError, ExptrackError) as exc:
                if errors is not None:
                    errors.append(f"{run_dir.parent}: {exc}")
        return sorted(runs, key=lambda r: (r["created_at"], r["run_id"]))

    @recorded("tracker")
    def read_history(self, run_id: str, *, start: Any = 0, metric: str | None = None
                     ) -> tuple[list[tuple[int | None, str, float, float]], Any]:
        rows = []
        with open(self.run_dir(run_id) / EVENTS, "rb") as f:
            f.seek(int(start))
            chunk = f.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line being written waits for the next read
        for line in complete.splitlines():
            e = json.loads(line)
            if e["event"] == "metrics":
                rows += [(e["step"], n, v, e["timestamp"]) for n, v in e["metrics"].items()
                         if metric is None or n == metric]
        return rows, int(start) + len(complete)


def _events(run_dir: Path):
    with open(run_dir / EVENTS) as f:
        for line in f:
            if line.endswith("\n"):
                yield json.loads(line)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1e6):06d}"
