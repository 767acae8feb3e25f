"""Curves downsampled on the reader's side keep every bucket's min and max: spikes stay visible."""

from __future__ import annotations

import math

import numpy as np

import exptrack
from exptrack_core.downsample import CurveSampler, HistorySampler, minmax
from exptrack_core.run import get_tracker
from tests.conftest import run_cli


def _log_curve(n: int, spike_at: int, experiment: str = "big") -> str:
    with exptrack.init(experiment=experiment) as run:
        for i in range(n):
            run.log({"loss": 1.0 / (1 + i) + (9.0 if i == spike_at else 0.0), "lr": 0.1}, step=i)
    return run.id


def test_a_one_step_spike_in_a_long_curve_survives_downsampling():
    xs = list(range(100_000))
    ys = [math.sin(i / 1000) for i in xs]
    ys[54_321] = 50.0
    ys[77_777] = -50.0
    kx, ky = minmax(xs, ys, points=200)
    assert len(kx) <= 4 * 200 + 2
    assert 50.0 in ky and -50.0 in ky
    assert kx[ky.index(50.0)] == 54_321
    assert kx[0] == 0 and kx[-1] == 99_999  # the ends are kept
    assert kx == sorted(kx)  # in logged order, so the line goes through each spike


def test_feeding_values_one_by_one_or_as_arrays_keeps_the_same_points():
    values = np.random.default_rng(0).normal(size=12_345)
    values[4000] = np.nan
    steps = np.arange(len(values), dtype=float)
    stamps = steps / 10
    one, arrays = CurveSampler(100), CurveSampler(100)
    for s, v, t in zip(steps.tolist(), values.tolist(), stamps.tolist()):
        one.add(int(s), v, t)
    for part in np.array_split(np.arange(len(values)), 7):  # in several reads, as a live page does
        arrays.add_arrays(steps[part], values[part], stamps[part])
    key = [(x, "nan" if v != v else v) for x, v, _ in one.points()]
    assert key == [(x, "nan" if v != v else v) for x, v, _ in arrays.points()]
    assert (4000, "nan") in key  # a diverged value is shown, not dropped
    assert one.count == arrays.count == len(values)


def test_a_run_history_is_sampled_incrementally_as_values_arrive(workdir):
    with exptrack.init(experiment="live") as run:
        for i in range(50):
            run.log({"acc": i / 100}, step=i)
        sampler = HistorySampler(get_tracker(), run.id, points=10)
        assert sampler.update()
        first = sampler.curves()["acc"]
        assert first["count"] == 50 and first["x"][0] == 0 and first["x"][-1] == 49
        assert not sampler.update()  # nothing new: nothing read
        run.log({"acc": 0.99}, step=50)
        assert sampler.update()
    after = sampler.curves()["acc"]
    assert after["count"] == 51 and after["x"][-1] == 50 and after["y"][-1] == 0.99


def test_show_and_plot_of_a_long_run_give_its_summary_and_its_spike(workdir):
    run_id = _log_curve(30_000, spike_at=12_345)
    shown = run_cli("show", run_id, check=True).stdout
    assert "30000" in shown and "loss" in shown
    proc = run_cli("plot", "loss", run_id, "-o", "c.png", check=True)
    assert (workdir / "c.png").stat().st_size > 0, proc.stderr
    args = type("A", (), {"dir": None, "run_ids": [run_id], "metric": "loss"})()
    from exptrack_core.cli.plot import plot_curves

    points = plot_curves(args, points=100)[1][run_id]
    assert len(points) <= 402
    assert max(p["value"] for p in points) > 9.0  # the spike is in the PNG's data
