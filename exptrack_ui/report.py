"""``exptrack report``: one HTML file with the sweep's (or experiment's) views, plotly.js inside.

The page runs the same scripts as the server (all of them, inline); the API answers it would fetch are computed
here and embedded, so the file opens offline, from disk, with no server behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exptrack_core.errors import ExptrackError

from exptrack_ui import sweeps as sweep_data
from exptrack_ui.data import Store
from exptrack_ui.server import SCRIPTS, STATIC, plotly_js, shell

MAX_RUNS = 200  # an experiment report draws the curves of at most this many runs


def build_report(root: str | Path, *, sweep: str | None = None, experiment: str | None = None) -> str:
    store = Store(root)
    answers: dict[str, Any] = {}
    if sweep:
        page, location = "sweep", f"/sweeps/{sweep}"
        answers[f"/api/sweeps/{sweep}"] = sweep_data.sweep_page(store, sweep)
        answers[f"/api/sweeps/{sweep}/curves"] = sweep_data.sweep_curves(store, sweep)
        answers[f"/api/sweeps/{sweep}/importance"] = sweep_data.importance(store, sweep)
    elif experiment:
        table = store.runs_page(experiment=experiment, limit=-1)
        if not table["total"]:
            raise ExptrackError(f"no runs of experiment {experiment!r} under {str(store.root)!r}")
        ids = [row[0] for row in table["rows"]][:MAX_RUNS]
        page, location = "compare", "/compare?runs=" + ",".join(ids)
        answers["/api/compare?runs=" + ",".join(ids)] = store.compare(ids)
        for run_id in ids:
            answers[f"/api/runs/{run_id}/curves"] = store.curves(run_id)
        answers["table"] = table
    else:
        raise ExptrackError("report needs --sweep ID or --experiment NAME")
    inline = {"css": (STATIC / "app.css").read_text(encoding="utf-8"),
              "plotly": plotly_js().read_text(encoding="utf-8"),
              **{name: (STATIC / name).read_text(encoding="utf-8") for name in SCRIPTS}}
    return shell(page, inline=inline, data={"location": location, "answers": answers})


__all__ = ["build_report"]
