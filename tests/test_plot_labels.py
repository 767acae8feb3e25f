"""`exptrack plot` tells its curves apart: the legend names the params that differ, integer steps
get integer ticks, identical curves are pointed out. Read back from the figure itself."""

from __future__ import annotations

import exptrack
from exptrack_core.cli.commands import main

from .figures import last


def _runs(curves):
    ids = []
    for params, values in curves:
        with exptrack.init(experiment="digits", params=params) as run:
            for step, value in values:
                run.log({"val_acc": value}, step=step)
        ids.append(run.id)
    return ids


def _legend(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_the_legend_shows_the_params_that_differ_between_the_plotted_runs(workdir, drawn):
    a, b = _runs([({"train": {"lr": 0.1, "epochs": 2}, "model": "cnn"}, [(1, 0.5), (2, 0.6)]),
                  ({"train": {"lr": 0.01, "epochs": 2}, "model": "cnn"}, [(1, 0.7), (2, 0.8)])])
    assert main(["plot", "val_acc", a, b, "-o", "c.png"]) == 0
    assert sorted(_legend(last(drawn))) == sorted([f"{a}  train.lr=0.1", f"{b}  train.lr=0.01"])


def test_integer_steps_get_integer_ticks(workdir, drawn):
    a, b = _runs([({"lr": 0.1}, [(1, 0.5), (2, 0.6)]), ({"lr": 0.2}, [(1, 0.4), (2, 0.7)])])
    assert main(["plot", "val_acc", "-o", "c.png"]) == 0
    ax = last(drawn).axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks == [1.0, 2.0], ticks  # not 1.2, 1.4, ...


def test_identical_curves_are_named_in_the_legend_and_on_stderr(workdir, drawn, capsys):
    same = [(0, 0.5), (1, 0.6), (2, 0.7)]
    a, b, c = _runs([({"seed": 1}, same), ({"seed": 2}, same), ({"seed": 3}, [(0, 0.1), (1, 0.2)])])
    assert main(["plot", "val_acc", "-o", "c.png"]) == 0
    lines = {line.get_label().split()[0]: line for line in last(drawn).axes[0].get_lines()}
    first, second = sorted([a, b], key=list(lines).index)  # in the order they were drawn
    seed = {a: 1, b: 2, c: 3}
    assert sorted(_legend(last(drawn))) == sorted([
        f"{first}  seed={seed[first]}", f"{second}  seed={seed[second]}  (same curve as {first})",
        f"{c}  seed=3"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"val_acc curves of {first}, {second} are identical" in err
    assert lines[first].get_linestyle() == "-" and lines[second].get_linestyle() != "-"
    assert lines[c].get_linestyle() == "-"


def test_a_secret_named_param_is_never_shown_in_the_legend(workdir, drawn):
    a, b = _runs([({"api_key": "sk-one", "lr": 0.1}, [(0, 0.5)]), ({"api_key": "sk-two", "lr": 0.2}, [(0, 0.6)])])
    assert main(["plot", "val_acc", "-o", "c.png"]) == 0
    legend = " ".join(_legend(last(drawn)))
    assert "sk-one" not in legend and "sk-two" not in legend and "lr=0.1" in legend
