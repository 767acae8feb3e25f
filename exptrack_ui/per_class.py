"""Per-class metrics of a run, shown as their own table and bar chart on ``/runs/<id>``.

Two shapes exist: the evaluate stage's ``per_class.json`` (``{"per_class": {class: {precision,
recall, f1, support}}}``, see stages/reports.py) saved among the run's artifacts, and metrics
logged with a class suffix (``precision/cat``, ``test_f1_dog``). A chart of each as a curve
with one point says nothing; a table by class does.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SCORES = ("precision", "recall", "f1", "support")
# an optional split prefix (test_, val/), the score, a separator, the class
LOGGED = re.compile(r"^(?:[A-Za-z]+[_/])?(precision|recall|f1|support)[/_.:](.+)$")
AVERAGES = {"macro", "micro", "weighted", "samples", "avg", "mean"}  # summaries, not classes
MAX_BYTES = 1 << 20  # a larger "per_class.json" is not this report: left alone


def per_class(artifacts_dir: Path, artifacts: list[dict[str, Any]],
              summary: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """``{"source", "scores", "classes", "rows": {class: {score: value}}, "metrics"}`` or None;
    ``metrics`` are the logged names consumed (the page does not draw them as curves)."""
    return _from_artifact(artifacts_dir, artifacts) or _from_logged(summary)


def _from_artifact(base: Path, artifacts: list[dict[str, Any]]) -> dict[str, Any] | None:
    for a in artifacts:
        if not a["name"].rsplit("/", 1)[-1] == "per_class.json" or a["size"] > MAX_BYTES:
            continue
        try:
            table = json.loads((base / a["name"]).read_text()).get("per_class")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(table, dict) and table and all(isinstance(v, dict) for v in table.values()):
            rows = {str(c): {s: v[s] for s in SCORES if isinstance(v.get(s), (int, float))}
                    for c, v in table.items()}
            return _result("artifacts/" + a["name"], rows, [])
    return None


def _from_logged(summary: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    rows: dict[str, dict[str, Any]] = {}
    used = []
    for name, s in summary.items():
        m = LOGGED.match(name)
        if not m or m.group(2).lower() in AVERAGES:
            continue
        rows.setdefault(m.group(2), {})[m.group(1)] = s.get("last")
        used.append(name)
    return _result("logged metrics", rows, used) if len(rows) >= 2 else None


def _result(source: str, rows: dict[str, dict[str, Any]], metrics: list[str]) -> dict[str, Any]:
    scores = [s for s in SCORES if any(s in r for r in rows.values())]
    return {"source": source, "scores": scores, "classes": list(rows), "rows": rows, "metrics": metrics}


__all__ = ["per_class"]
