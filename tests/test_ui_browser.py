"""`exptrack ui` in a real browser: Debian's Chromium driven by Playwright, against a real server
on 127.0.0.1 over real runs and a real sweep. Screenshots go to the test's tmp directory
(printed with -s; EXPTRACK_UI_SCREENSHOTS=DIR keeps them there); look at them when a page
changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("starlette")
playwright_api = pytest.importorskip("playwright.sync_api")

import exptrack  # noqa: E402
from exptrack_core.run import get_tracker  # noqa: E402
from exptrack_core.sweep.journal import SweepStore  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.ui_helpers import XSS, UiServer, make_runs, make_sweep  # noqa: E402

CHROMIUM = os.environ.get("EXPTRACK_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Three runs (one logging the XSS probe as a metric name) and a 16-trial hyperband sweep."""
    root = tmp_path_factory.mktemp("ui") / "experiments"
    old = os.environ.get("EXPTRACK_DIR")
    os.environ["EXPTRACK_DIR"] = str(root)
    try:
        runs = make_runs()
        sweep_id = make_sweep()
    finally:
        if old is None:
            os.environ.pop("EXPTRACK_DIR", None)
        else:
            os.environ["EXPTRACK_DIR"] = old
    shots = Path(os.environ.get("EXPTRACK_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {shots}")
    with UiServer(root) as server:
        yield {"root": root, "runs": runs, "sweep": sweep_id, "server": server, "shots": shots}


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def loaded(page, url: str, shot: Path | None = None):
    page.goto(url)
    page.wait_for_selector("body[data-loaded='1']", timeout=20_000)
    if shot:
        page.screenshot(path=str(shot), full_page=True)
    assert page.errors == []


def completed_trials(root: Path, sweep_id: str) -> list:
    return [t for t in SweepStore(root, sweep_id).trials().values() if t.status == "completed"]


def test_the_runs_table_lists_every_run(world, page):
    loaded(page, world["server"].url, world["shots"] / "runs.png")
    total = len(world["runs"]) + len(SweepStore(world["root"], world["sweep"]).trials())
    assert page.inner_text("#count") == f"1–{total} of {total} run(s)"
    shown = page.eval_on_selector_all("#runs tbody tr td:nth-child(2)", "tds => tds.map(t => t.textContent)")
    every_run = [r["run_id"] for r in get_tracker(world["root"]).list_runs()]
    assert sorted(shown) == sorted(every_run) and len(shown) == total
    assert set(world["runs"]) <= set(shown)


def test_filtering_the_runs_table_with_a_cli_expression(world, page):
    loaded(page, world["server"].url)
    page.fill("input[name=filter]", "train.lr>0.04")
    page.press("input[name=filter]", "Enter")
    page.wait_for_function("document.querySelector('#count').textContent.endsWith('of 2 run(s)')")
    page.fill("input[name=filter]", "val_acc>>1")
    page.press("input[name=filter]", "Enter")
    page.wait_for_selector("#runs .error")
    assert "malformed filter" in page.inner_text("#runs .error")


def test_the_sweep_parallel_coordinates_hold_one_line_per_completed_trial(world, page):
    loaded(page, f"{world['server'].base}/sweeps/{world['sweep']}", world["shots"] / "sweep.png")
    done = completed_trials(world["root"], world["sweep"])
    assert len(done) >= 3
    dims = page.evaluate("document.getElementById('parcoords').data[0].dimensions.map(d => [d.label, d.values.length])")
    assert [label for label, _ in dims] == ["x", "y", "noise", "loss"]
    assert {n for _, n in dims} == {len(done)}
    # the metric's axis holds exactly the completed trials' values
    metric = page.evaluate("document.getElementById('parcoords').data[0].dimensions[3].values")
    assert sorted(metric) == pytest.approx(sorted(t.value for t in done))
    assert page.locator("#parcoords .parcoords").count() == 1  # drawn, not only given data
    assert page.locator("canvas.sketch").count() == 0  # the first drawings were replaced
    marks = page.evaluate("window.__exptrackMarks")
    assert marks["shown"] <= marks["first"] < marks["plotly"]  # drawn before plotly.js ran


INKED = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] && (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200)) n++;
  return n; }"""


def test_the_first_screen_charts_are_drawn_without_waiting_for_plotly(world, page):
    """plotly.js never arrives: best so far and the parallel coordinates are still drawn, one
    line per completed trial, and the run page's curves too."""
    page.route("**/plotly.min.js*", lambda route: route.abort())
    page.goto(f"{world['server'].base}/sweeps/{world['sweep']}")
    page.wait_for_selector("body[data-first='1']")
    done = completed_trials(world["root"], world["sweep"])
    assert page.get_attribute("#parcoords canvas.sketch", "data-lines") == str(len(done))
    for chart in ("#best", "#parcoords"):
        assert page.eval_on_selector(chart + " canvas.sketch", INKED) > 500, chart  # ink, not an empty canvas
    page.wait_for_selector("text=plotly.js did not load")  # and it says why nothing is interactive
    page.screenshot(path=str(world["shots"] / "sweep-without-plotly.png"), full_page=True)
    assert page.evaluate("typeof window.Plotly") == "undefined"
    page.goto(f"{world['server'].base}/runs/{world['runs'][1]}")
    page.wait_for_selector("body[data-first='1']")
    assert page.eval_on_selector("[data-metric=val_acc] canvas.sketch", INKED) > 200


def test_importance_ranks_first_the_param_the_objective_depends_on_most(world, page):
    loaded(page, f"{world['server'].base}/sweeps/{world['sweep']}")
    page.wait_for_selector("#importance[data-first]", timeout=30_000)
    assert page.get_attribute("#importance", "data-first") == "x"
    rows = page.eval_on_selector_all("#importance tbody tr", "trs => trs.map(r => r.children[0].textContent)")
    assert rows[0] == "x" and set(rows) == {"x", "y", "noise"}
    page.screenshot(path=str(world["shots"] / "sweep-importance.png"), full_page=True)


def test_the_early_stopping_view_marks_bands_and_where_pruned_trials_stopped(world, page):
    loaded(page, f"{world['server'].base}/sweeps/{world['sweep']}")
    page.locator("#stopping").scroll_into_view_if_needed()  # drawn when it comes near the screen
    page.wait_for_selector("#stopping[data-traces]")
    trials = SweepStore(world["root"], world["sweep"]).trials().values()
    assert int(page.get_attribute("#stopping", "data-traces")) == len(trials)
    layout = page.evaluate("document.getElementById('stopping').layout.shapes.map(s => s.x0)")
    assert layout == [3, 9]  # hyperband min_iter 3, eta 3, curves of 9 values
    marks = page.evaluate("document.getElementById('stopping').data.find(t => t.name === 'stopped').text")
    pruned = [t for t in trials if t.status == "pruned"]
    assert pruned and len(marks) == len(pruned)
    assert all(any(m.startswith(f"{t.trial_id} stopped at iteration") for m in marks) for t in pruned)


def test_a_value_logged_while_the_page_is_open_appears_without_a_reload(world, page):
    os.environ["EXPTRACK_DIR"] = str(world["root"])
    try:
        with exptrack.init(experiment="live") as run:
            for step in range(5):
                run.log({"acc": step / 10}, step=step)
            loaded(page, f"{world['server'].base}/runs/{run.id}")
            page.evaluate("window.__same_page = true")
            assert page.inner_text("#live") == "● live"
            run.log({"acc": 0.987}, step=5)
            page.wait_for_function(
                "document.querySelector('[data-metric=acc]').data[0].y.includes(0.987)", timeout=10_000)
            assert page.evaluate("window.__same_page") is True  # no reload happened
            page.screenshot(path=str(world["shots"] / "run-live.png"), full_page=True)
    finally:
        os.environ.pop("EXPTRACK_DIR", None)


def test_the_xss_probe_is_shown_as_text_and_stays_inert(world, page):
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    base = world["server"].base
    xss_run = world["runs"][0]
    loaded(page, base + "/")
    assert page.get_by_text(XSS, exact=True).count() >= 1  # a column header, as text
    loaded(page, f"{base}/runs/{xss_run}", world["shots"] / "run-xss.png")
    page.wait_for_selector(f"[data-metric='{XSS}'] .gtitle")
    assert page.get_by_text(XSS, exact=True).count() >= 1  # in the metrics table
    title = page.text_content(f"[data-metric='{XSS}'] .gtitle")
    assert title.startswith(XSS)  # the chart title shows the name, not an image
    loaded(page, f"{base}/compare?runs={','.join(world['runs'])}")
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.locator("img[src=x], main img:not(.artifact)").count() == 0
    assert not [u for u in requests if u.rstrip("/").endswith("/x")]


def test_the_run_page_lists_per_class_metrics_in_a_table(world, page):
    """A run logs precision/recall/f1 per class, one class named like the XSS probe: the table
    shows every class with its values, the probe as text, and the scores are not drawn as curves."""
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    scores = {"cat": (0.91, 0.82, 0.86), "dog": (0.75, 0.5, 0.6), XSS: (0.25, 0.125, 0.167)}
    os.environ["EXPTRACK_DIR"] = str(world["root"])
    try:
        with exptrack.init(experiment="per-class") as run:
            run.log({"val_acc": 0.7}, step=0)
            for name, (p, r, f) in scores.items():
                run.log({f"precision/{name}": p, f"recall/{name}": r, f"f1/{name}": f}, step=1)
            run.log({"f1/macro": 0.54}, step=1)
    finally:
        os.environ.pop("EXPTRACK_DIR", None)
    loaded(page, f"{world['server'].base}/runs/{run.id}", world["shots"] / "run-per-class.png")
    heads = page.eval_on_selector_all("#per-class thead th", "ths => ths.map(t => t.textContent)")
    assert heads == ["class", "precision", "recall", "f1"]
    rows = page.eval_on_selector_all("#per-class tbody tr", "trs => trs.map(r => [...r.children].map(c => c.textContent))")
    assert sorted(rows) == sorted([[name, str(p), str(r), str(f)] for name, (p, r, f) in scores.items()])
    assert page.locator("#per-class img").count() == 0 and dialogs == []  # the probe is text
    assert page.locator("#per-class-chart .main-svg").count() >= 1  # and a bar chart by class
    bars = page.evaluate("document.getElementById('per-class-chart').data.map(t => t.name)")
    assert bars == ["precision", "recall", "f1"]
    drawn = page.eval_on_selector_all("#charts [data-metric]", "ds => ds.map(d => d.dataset.metric)")
    assert drawn == ["val_acc", "f1/macro"]  # per-class scores are not one-point curves; the average is


def test_compare_groups_runs_by_a_param_with_mean_and_std_bands(world, page):
    loaded(page, f"{world['server'].base}/compare?runs={','.join(world['runs'])}", world["shots"] / "compare.png")
    page.wait_for_selector("[data-metric=val_acc] .js-plotly-plot, [data-metric=val_acc].js-plotly-plot")
    names = page.evaluate("document.querySelector('[data-metric=val_acc]').data.map(t => t.name)")
    assert sorted(names) == ["train.lr=0.033333 train.seed=0", "train.lr=0.05 train.seed=1",
                             "train.lr=0.1 train.seed=0"]  # the legend: the params that differ
    page.select_option("select[name=group]", "train.seed")
    page.wait_for_function("document.querySelector('[data-metric=val_acc]').data.length === 6")
    legend = page.evaluate("document.querySelector('[data-metric=val_acc]').data.filter(t => t.showlegend !== false).map(t => t.name)")
    assert sorted(legend) == ["train.seed=0 (n=2) mean ± std", "train.seed=1 (n=1) mean ± std"]
    page.screenshot(path=str(world["shots"] / "compare-grouped.png"), full_page=True)


def test_the_report_renders_the_same_plots_with_the_network_cut(world, page, tmp_path):
    out = tmp_path / "report.html"
    run_cli("report", "--dir", str(world["root"]), "--sweep", world["sweep"], "-o", str(out), check=True)
    blocked = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        blocked.append(route.request.url)
        return route.abort()

    page.context.route("**/*", only_files)
    loaded(page, out.as_uri(), world["shots"] / "report.png")
    page.wait_for_selector("#importance[data-first]")
    done = completed_trials(world["root"], world["sweep"])
    dims = page.evaluate("document.getElementById('parcoords').data[0].dimensions.map(d => d.values.length)")
    assert set(dims) == {len(done)}
    assert page.locator("#parcoords .parcoords").count() == 1
    assert page.get_attribute("#importance", "data-first") == "x"
    assert int(page.get_attribute("#stopping", "data-traces")) == len(SweepStore(world["root"], world["sweep"]).trials())
    assert blocked == []  # nothing outside the file was even asked for
    assert json.loads(page.evaluate("document.getElementById('exptrack-data').textContent"))["location"]


TRIAL = '''
import pathlib, time
import exptrack
with exptrack.init() as run:
    run.log({"loss": 1.0}, step=1)
    flag = pathlib.Path(FLAG)
    while not flag.exists():
        time.sleep(0.05)
    run.log({"loss": 0.123}, step=2)
'''


def test_a_running_sweep_page_shows_a_new_value_without_a_reload(page, tmp_path):
    """A real `exptrack sweep` whose trial waits for a file between its two values."""
    import subprocess
    import sys
    import time

    import httpx

    flag = tmp_path / "go"
    (tmp_path / "trial.py").write_text(f"FLAG = {str(flag)!r}\n" + TRIAL)
    (tmp_path / "sweep.yaml").write_text(
        "name: live\nmethod: grid\nprogram: trial.py\ncommand: [\"${interpreter}\", \"${program}\"]\n"
        "metric: {name: loss, goal: minimize}\nparameters: {a: {values: [1]}}\n")
    root = tmp_path / "experiments"
    sweep = subprocess.Popen([sys.executable, "-m", "exptrack_core.cli", "sweep", "--config",
                              "sweep.yaml", "--dir", str(root), "--quiet"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with UiServer(root) as server:
            end = time.monotonic() + 60
            while not (ids := [s["sweep_id"] for s in httpx.get(server.base + "/api/sweeps").json()]):
                assert time.monotonic() < end and sweep.poll() is None, sweep.stderr.read() if sweep.poll() is not None else "no sweep"
                time.sleep(0.2)
            loaded(page, f"{server.base}/sweeps/{ids[0]}")
            page.locator("#stopping").scroll_into_view_if_needed()  # drawn once near the screen
            page.wait_for_function("(document.getElementById('stopping').data || []).some(t => t.y.includes(1))",
                                   timeout=60_000)
            page.evaluate("window.__same_page = true")
            flag.write_text("go")
            page.wait_for_function(
                "document.getElementById('stopping').data.some(t => t.y.includes(0.123))", timeout=10_000)
            assert page.evaluate("window.__same_page") is True
            assert sweep.wait(60) == 0, sweep.stderr.read()
            page.wait_for_function("document.querySelector('#counts').textContent.includes('completed 1')",
                                   timeout=10_000)
    finally:
        flag.write_text("go")
        if sweep.poll() is None:
            sweep.terminate()
            sweep.wait(30)


def test_an_experiment_report_draws_every_run_curve_offline(world, page, tmp_path):
    out = tmp_path / "cls.html"
    run_cli("report", "--dir", str(world["root"]), "--experiment", "cls", "-o", str(out), check=True)
    page.context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                       else route.abort())
    loaded(page, out.as_uri(), world["shots"] / "report-experiment.png")
    names = page.evaluate("document.querySelector('[data-metric=val_acc]').data.map(t => t.name)")
    assert len(names) == len(world["runs"])
    assert page.get_by_text("All runs of the experiment").count() == 1
