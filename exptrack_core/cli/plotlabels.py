"""What ``exptrack plot`` says about its curves: which run is which, on which steps, and which
curves hide each other.

- The legend names each run by its id and the params that differ between the plotted runs (as
  ``compare`` shows them): ids alone cannot be told apart.
- Steps that are all integers get integer ticks (matplotlib's default puts ticks at 1.25, 1.5).
- Runs whose curves are identical would hide each other without a word: the legend says so,
  the later ones are dashed so both colours show, and one note on stderr names them.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

from exptrack_core.cli.output import fmt_cell
from exptrack_core.query import runs_table, varying_params
from exptrack_core.secrets import redact_params

MAX_PARAMS = 4  # a legend entry stays one readable line


def run_labels(runs: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """``{run_id: "run_id  train.lr=0.01 train.wd=0"}`` with the params that differ."""
    table = runs_table(runs)
    differing = varying_params(table) if len(table) > 1 else []
    labels = {}
    for row in table.rows:
        values = redact_params({p: row.get(p) for p in differing[:MAX_PARAMS]})  # never a secret
        shown = [f"{p}={fmt_cell(v)}" for p, v in values.items()]
        if len(differing) > MAX_PARAMS:
            shown.append(f"+{len(differing) - MAX_PARAMS} more")
        labels[row["run_id"]] = "  ".join([row["run_id"], " ".join(shown)]).strip()
    return labels


def identical_curves(curves: Mapping[str, Sequence[tuple[Any, Any]]]) -> list[list[str]]:
    """Groups (in plotting order) of runs whose curves are point for point the same."""
    groups: dict[tuple, list[str]] = {}
    for run_id, points in curves.items():
        if points:
            groups.setdefault(tuple(points), []).append(run_id)
    return [ids for ids in groups.values() if len(ids) > 1]


def integer_ticks(ax: Any, steps: Sequence[Any]) -> None:
    """Integer ticks on the x axis when every step is an integer."""
    from matplotlib.ticker import MaxNLocator

    try:
        whole = bool(steps) and all(float(s).is_integer() for s in steps)
    except (TypeError, ValueError):  # categories, not numbers
        return
    if whole:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def label_curves(ax: Any, runs: Sequence[Mapping[str, Any]], metric: str,
                 stream: Any = None) -> None:
    """Relabel the lines ``ax`` holds (each labelled with its run id), set integer ticks for
    integer steps, and point out identical curves. Call before ``ax.legend()``."""
    lines = {line.get_label(): line for line in ax.get_lines()}
    curves = {run_id: list(zip(*(list(a) for a in line.get_data())))
              for run_id, line in lines.items()}
    labels = run_labels([r for r in runs if r["run_id"] in lines])
    integer_ticks(ax, [s for points in curves.values() for s, _ in points])
    for group in identical_curves(curves):
        first = group[0]
        for run_id in group[1:]:
            labels[run_id] = f"{labels.get(run_id, run_id)}  (same curve as {first})"
            lines[run_id].set_linestyle((2, (4, 4)))  # dashed: the one below shows through
        print(f"exptrack: note: the {metric} curves of {', '.join(group)} are identical "
              "(drawn on top of each other)", file=stream or sys.stderr)
    for run_id, line in lines.items():
        line.set_label(labels.get(run_id, run_id))


__all__ = ["identical_curves", "integer_ticks", "label_curves", "run_labels"]
