"""``exptrack plot``: each run's curve of one metric in a PNG, downsampled while it is read
(``--dvc``: the DVC plots dvc.yaml declares, drawn offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exptrack_core.cli.runs import load_runs, run_details
from exptrack_core.errors import ExptrackError, UnknownNameError
from exptrack_core.run import get_tracker


def plot_curves(args, points: int = 2000) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]] | None]]:
    """The runs and each one's curve of ``args.metric``, min/max-downsampled while it is read
    (a 1,000,000-value history is streamed once, never held): run id -> points or None."""
    from exptrack_core.downsample import HistorySampler

    tracker = get_tracker(args.dir)
    runs = [run_details(tracker, r) for r in args.run_ids] if args.run_ids else load_runs(args)
    if not any(args.metric in (r.get("summary") or {}) for r in runs):
        names = sorted({m for r in runs for m in (r.get("summary") or {})})
        raise UnknownNameError("metric", args.metric, names)
    curves: dict[str, list[dict[str, Any]] | None] = {}
    for run in runs:
        sampler = HistorySampler(tracker, run["run_id"], points, metrics={args.metric})
        sampler.update()
        s = sampler.samplers.get(args.metric)
        curves[run["run_id"]] = [{"step": x, "value": v} for x, v, _ in s.points()] if s else None
    return runs, curves


def cmd_plot(args) -> int:
    if getattr(args, "dvc", False):
        from exptrack_core.cli.dvcplots import cmd_dvc_plots

        return cmd_dvc_plots(args)
    if not args.metric:
        raise ExptrackError("plot needs a METRIC (e.g. exptrack plot val_acc), or --dvc for "
                            "the DVC plots dvc.yaml declares")
    runs, curves = plot_curves(args)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for run_id, points in curves.items():
        points = [p for p in (points or []) if p["step"] is not None]
        if points:
            ax.plot([p["step"] for p in points], [p["value"] for p in points], marker=".",
                    label=run_id)
    ax.set_xlabel("step")
    ax.set_ylabel(args.metric)
    ax.set_title(args.metric)
    ax.grid(alpha=0.3)
    from exptrack_core.cli.plotlabels import label_curves

    label_curves(ax, runs, args.metric)  # differing params, integer steps, identical curves
    ax.legend(fontsize="small")
    out = Path(args.output or "curves.png")
    try:
        fig.savefig(out, dpi=120, bbox_inches="tight")
    except OSError as exc:
        raise ExptrackError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    print(f"wrote {out} ({sum(1 for c in curves.values() if c)} run(s))")
    return 0


__all__ = ["cmd_plot", "plot_curves"]
