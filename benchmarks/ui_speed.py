"""The dashboard's speed: time until a page shows its data, against MLflow and optuna-dashboard.

Three cases, each on the same data for every tool:

- runs: the runs page of 10,000 runs (``queries.py``'s data: 20 params, 10 metrics, 50 steps),
  in Chromium until the table is drawn (first and repeat visits, see ``page_s``); beside it
  ``/api/runs`` alone, and MLflow's ``search_runs`` (the call behind ``mlflow ui``'s runs page: its first 100 runs, and all);
- sweep: the sweep page of a 1,000-trial sweep (made by ``exptrack.sweep``, 10 steps a trial), in
  Chromium until the first screen's charts (best so far, parallel coordinates) are drawn, and
  until Plotly has made them interactive; beside it ``/api/sweeps/ID``, and
  optuna-dashboard's ``/api/studies/ID`` (what its page polls) on the same trials in an Optuna
  SQLite study, served by its own ``run_server``;
- long run: a run of 1,000,000 values opened by a server started just before (nothing cached; the
  repeat visits find it warm), in Chromium until its curve is drawn (and made interactive); beside
  it ``/api/runs/ID/curves`` on another fresh server, and MLflow's ``get_metric_history`` of the
  same values.

Run by hand (``pip install -e '.[bench]'``; Chromium at /usr/bin/chromium):

    python benchmarks/ui_speed.py --repeat 5 --out /tmp/ui_speed.json
    python benchmarks/ui_speed.py --cases runs      # one case (and its anchors) while iterating
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import (bench_env, check_repeat, finish, interleaved, machine, md_table, median, progress,
                    repeat_arg, verdict)

ENV = bench_env(MLFLOW_ENABLE_ASYNC_LOGGING="false")
MLFLOW_TIMED = """
import sys, time, mlflow
from mlflow.tracking import MlflowClient
uri, what, arg = sys.argv[1], sys.argv[2], sys.argv[3]
client = MlflowClient(tracking_uri=uri)
exp = client.get_experiment_by_name(arg) if what != "history" else None
t0 = time.perf_counter()
if what == "page":
    n = len(client.search_runs([exp.experiment_id], max_results=100, order_by=["attributes.start_time DESC"]))
elif what == "all":
    mlflow.set_tracking_uri(uri)
    n = len(mlflow.search_runs(experiment_names=[arg]))
else:
    n = len(client.get_metric_history(arg, "loss"))
print(time.perf_counter() - t0, n)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process (exptrack ui or optuna-dashboard) on a free loopback port."""

    def __init__(self, argv: list[str], port: int, ready: str):
        self.port = port
        self.proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=60).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{argv} exited: {self.proc.stdout.read()[-2000:]}")
                time.sleep(0.2)
        raise RuntimeError(f"{argv} did not answer {ready}")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)


def exptrack_ui(root: Path) -> Server:
    port = free_port()
    return Server([sys.executable, "-m", "exptrack_core.cli", "ui", "--dir", str(root), "--port",
                   str(port)], port, "/static/app.css")


def get_s(url: str) -> float:
    t0 = time.perf_counter()
    urllib.request.urlopen(url, timeout=300).read()
    return time.perf_counter() - t0


def page_s(browser, url: str) -> dict[str, float]:
    """One user opening ``url`` in a fresh browser profile (first visit), then twice more (the
    repeat visit timed is the third: Chromium keeps V8's compiled code of a script from its second
    load on). Each visit: seconds from navigation until

    - ``shown``: the page's data (its tables) is in the DOM and painted (app.js's mark, taken in a
      task after that frame: layout and paint included);
    - ``first``: the first screen's charts are drawn and painted (app.js's mark after the same
      kind of frame; on a first load they are sketch.js's canvas drawings, plotly.js not yet run);
    - ``loaded``: plotly.js has run and has drawn the first screen's interactive charts
      (``body[data-loaded]``, as Playwright sees it; charts further down are drawn when scrolled to).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    out: dict[str, float] = {}
    try:
        for visit, prefix in ((1, ""), (2, None), (3, "repeat_")):
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-loaded='1']", timeout=300_000)
            loaded = time.perf_counter() - t0
            # app.js's own marks (ms since navigation): the main thread is busy right after them
            # (plotly.js, then its charts), so an observer polling from outside sees them late
            marks = page.evaluate("window.__exptrackMarks")
            page.close()
            if prefix is None:
                continue
            out[prefix + "shown_s"] = marks["shown"] / 1000
            if "first" in marks:
                out[prefix + "first_s"] = marks["first"] / 1000
            out[prefix + "loaded_s"] = loaded
        return out
    finally:
        context.close()


def mlflow_timed(uri: str, what: str, arg: str) -> float:
    out = subprocess.run([sys.executable, "-c", MLFLOW_TIMED, uri, what, arg], env=ENV,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0])


# -- data ---------------------------------------------------------------------------------------

def make_sweep(root: Path, trials: int) -> str:
    import exptrack

    def objective(p: dict) -> float:
        with exptrack.init(experiment="bench-sweep") as run:
            for step in range(1, 11):
                run.log({"loss": (p["x"] - 0.3) ** 2 + 0.1 * p["depth"] / step}, step=step)
        return None

    os.environ["EXPTRACK_DIR"] = str(root)
    config = {"name": "bench", "method": "random", "run_cap": trials,
              "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"x": {"min": 0.0, "max": 1.0}, "depth": {"values": [2, 4, 8]},
                             "act": {"values": ["relu", "gelu"]},
                             "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}}
    return exptrack.sweep(objective, config, seed=0).sweep_id


def optuna_copy(root: Path, sweep_id: str, db: Path) -> int:
    """The sweep's trials as an Optuna study (params, value, the 10 intermediate values)."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from exptrack_core.run import get_tracker
    from exptrack_core.sweep.journal import SweepStore

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="bench", direction="minimize")
    dists = {"x": FloatDistribution(0, 1), "depth": CategoricalDistribution([2, 4, 8]),
             "act": CategoricalDistribution(["relu", "gelu"]), "lr": FloatDistribution(1e-5, 1e-1, log=True)}
    tracker = get_tracker(root)
    batch = []
    for t in SweepStore(root, sweep_id).trials().values():
        history = tracker.get_run(t.run_id)["metrics"]["loss"]
        batch.append(optuna.trial.create_trial(
            params={k: t.params[k] for k in dists}, distributions=dists, value=t.value,
            intermediate_values={p["step"]: p["value"] for p in history}))
    study.add_trials(batch)
    return study._study_id


def make_long_run(root: Path, n: int) -> str:
    from exptrack_plugins.local.tracker import LocalTracker

    tracker = LocalTracker(root)
    run_id = tracker.create_run("long")
    ts = time.time() - n
    for i in range(n):
        tracker.log_metrics(run_id, {"loss": math.exp(-i / (n / 5)) + (5.0 if i == n * 7 // 9 else 0.0)}, i, ts + i)
    tracker.set_status(run_id, "completed")
    tracker.close(run_id)
    return run_id


def mlflow_long_run(db: Path, root: Path, run_id: str) -> str:
    """The same 1,000,000 values in an MLflow store (a run MLflow made, rows bulk-inserted as
    ``log_batch`` stores them: its API would take minutes)."""
    from mlflow.tracking import MlflowClient

    from exptrack_plugins.local.files import iter_history
    from exptrack_plugins.local.tracker import LocalTracker

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exp = client.create_experiment("long")
    uid = client.create_run(exp).info.run_id
    rows = [("loss", v, int(ts * 1000), uid, step, 0) for step, _, v, ts in
            iter_history(Path(LocalTracker(root).run_dir(run_id)) / "metrics.csv")]
    con = sqlite3.connect(db)
    with con:
        con.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                        "VALUES (?,?,?,?,?,?)", rows)
        con.execute("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                    "VALUES (?,?,?,?,?,?)", rows[-1][:3] + (rows[-1][4], 0, uid))
    con.close()
    return uid


def ensure(data: Path, trials: int, values: int) -> dict[str, Any]:
    manifest_path = data / "manifest.json"
    try:
        m = json.loads(manifest_path.read_text())
        if m["trials"] == trials and m["values"] == values:
            return m
    except (OSError, ValueError, KeyError):
        pass
    import shutil

    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    progress(f"making a {trials}-trial sweep and a {values}-value run under {data}")
    sweep_id = make_sweep(data / "sweep", trials)
    study_id = optuna_copy(data / "sweep", sweep_id, data / "optuna.db")
    run_id = make_long_run(data / "long", values)
    ml_run = mlflow_long_run(data / "mlflow-long.db", data / "long", run_id)
    m = {"trials": trials, "values": values, "sweep_id": sweep_id, "study_id": study_id,
         "run_id": run_id, "mlflow_run": ml_run}
    manifest_path.write_text(json.dumps(m) + "\n")
    return m


# -- main ---------------------------------------------------------------------------------------

CASES = ("runs", "sweep", "long")
RUNS = "exptrack ui: runs page (10,000 runs)"


def _cases(text: str) -> list[str]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in names if c not in CASES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown case {','.join(bad) or text!r}: expected a "
                                         f"comma-separated list of {', '.join(CASES)}")
    return list(dict.fromkeys(names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-data", type=Path, default=Path("/tmp/exptrack-bench-queries/10000x50"),
                        help="queries.py's data (made by it when missing)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/exptrack-bench-ui"))
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--cases", type=_cases, default=list(CASES),
                        help=f"comma-separated, of {', '.join(CASES)} (default: all)")
    repeat_arg(parser)
    args = parser.parse_args()
    repeat = check_repeat(args.repeat)
    sys.path.insert(0, str(Path(__file__).parent))
    from playwright.sync_api import sync_playwright
    from queries import ensure_data

    info = machine("mlflow", "optuna", "optuna-dashboard", "starlette", "plotly")
    runs_manifest = ensure_data(args.runs_data, 10_000, 50)
    m = ensure(args.data, args.trials, args.values)
    ml_uri = f"sqlite:///{args.runs_data / 'mlflow.db'}"
    long_uri = f"sqlite:///{args.data / 'mlflow-long.db'}"

    ui = exptrack_ui(args.runs_data / "exptrack")
    sweep_ui = exptrack_ui(args.data / "sweep")
    od_port = free_port()
    code = ("import optuna_dashboard, sys; optuna_dashboard.run_server(sys.argv[1], "
            "host='127.0.0.1', port=int(sys.argv[2]))")
    od = Server([sys.executable, "-c", code, f"sqlite:///{args.data / 'optuna.db'}", str(od_port)],
                od_port, "/api/meta")
    base, sbase = f"http://127.0.0.1:{ui.port}", f"http://127.0.0.1:{sweep_ui.port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])

        def long_open() -> dict[str, float]:
            cold = exptrack_ui(args.data / "long")  # started just before: nothing sampled yet
            try:
                page = page_s(browser, f"http://127.0.0.1:{cold.port}/runs/{m['run_id']}")
            finally:
                cold.stop()
            cold = exptrack_ui(args.data / "long")
            try:
                api = get_s(f"http://127.0.0.1:{cold.port}/api/runs/{m['run_id']}/curves")
            finally:
                cold.stop()
            return {**page, "api_s": api}

        groups = {  # each of CASES: exptrack's case first, then its anchors on the same data
            "runs": {
                RUNS: lambda: {**page_s(browser, base + "/"), "api_s": get_s(base + "/api/runs")},
                "mlflow search_runs (first 100 of 10,000)": lambda: {"api_s": mlflow_timed(ml_uri, "page", "bench")},
                "mlflow.search_runs (all 10,000)": lambda: {"api_s": mlflow_timed(ml_uri, "all", "bench")}},
            "sweep": {
                f"exptrack ui: sweep page ({args.trials} trials)": lambda: {
                    **page_s(browser, f"{sbase}/sweeps/{m['sweep_id']}"),
                    "api_s": get_s(f"{sbase}/api/sweeps/{m['sweep_id']}")},
                f"optuna-dashboard /api/studies ({args.trials} trials)": lambda: {
                    "api_s": get_s(f"http://127.0.0.1:{od_port}/api/studies/{m['study_id']}?after=0")}},
            "long": {
                f"exptrack ui: run of {args.values:,} values (cold server)": long_open,
                f"mlflow get_metric_history ({args.values:,} values)": lambda: {
                    "api_s": mlflow_timed(long_uri, "history", m["mlflow_run"])}},
        }
        cases = {name: case for g in args.cases for name, case in groups[g].items()}
        try:
            results = interleaved(cases, repeat, progress)
        finally:
            browser.close()
            for s in (ui, sweep_ui, od):
                s.stop()
    med = {n: {k: median(v) for k, v in r.items()} for n, r in results.items()}
    cols = ("shown_s", "first_s", "loaded_s", "repeat_shown_s", "repeat_first_s", "repeat_loaded_s", "api_s")
    rows = [[f"`{n}`"] + [f"{r[k]:.3f}" if k in r else "" for k in cols] for n, r in med.items()]
    by_group = {g: [med[n] for n in groups[g]] for g in args.cases}
    ratio = lambda g, a, b: by_group[g][a]["api_s"] / by_group[g][b]["api_s"]  # noqa: E731
    md = (f"{repeat} rounds, every case once per round after a warm-up; headless Chromium (software "
          "WebGL), 1400x1000 window; seconds from navigation until: shown = the page's data (its "
          "tables) is in it and painted; first screen = the charts of the first screen are drawn "
          "and painted (canvas drawings before plotly.js has run); interactive = plotly.js has run "
          "and drawn those charts (charts further down are drawn when scrolled to). shown and first "
          "screen are app.js's marks (taken in a task after the painted frame), interactive is "
          "Playwright waiting for `body[data-loaded]`. First visit = a fresh browser profile; "
          "repeat = its third visit (plotly.min.js from the HTTP cache with V8's code cache). API = "
          "the one request (or call) behind the page, timed alone (MLflow: inside its process, "
          "after its imports).\n\n"
          + md_table(["case", "shown s", "first screen s", "interactive s", "repeat: shown s",
                      "repeat: first screen s", "repeat: interactive s", "API s"], rows)
          + "\n(medians)\n\n")
    lines, ratios = [], []
    if "runs" in by_group:
        runs = by_group["runs"][0]
        lines.append(f"runs page of 10,000 runs shows data < 1.5 s: first visit {runs['shown_s']:.2f} s, "
                     f"repeat {runs['repeat_shown_s']:.2f} s -> "
                     f"{verdict(runs['shown_s'] < 1.5 and runs['repeat_shown_s'] < 1.5)}")
        ratios.append(f"MLflow first page {ratio('runs', 1, 0):.2f}x, all runs {ratio('runs', 2, 0):.2f}x")
    def drawn(what: str, r: dict[str, float]) -> str:  # first screen < 1 s, then Plotly's
        return (f"{what} < 1 s: first visit {r['first_s']:.2f} s, repeat {r['repeat_first_s']:.2f} s -> "
                f"{verdict(r['first_s'] < 1 and r['repeat_first_s'] < 1)}; interactive (Plotly): "
                f"{r['loaded_s']:.2f} s / {r['repeat_loaded_s']:.2f} s -> {verdict(r['loaded_s'] < 1)}")

    if "sweep" in by_group:
        lines.append(drawn(f"sweep page of {args.trials} trials shows data and its first screen's charts",
                           by_group["sweep"][0]))
        ratios.append(f"optuna-dashboard {ratio('sweep', 1, 0):.2f}x")
    if "long" in by_group:
        lines.append(drawn(f"run of {args.values:,} values opens with its curve drawn (first visit: cold server)",
                           by_group["long"][0]))
        ratios.append(f"MLflow metric history {ratio('long', 1, 0):.2f}x")
    lines.append("ratios (anchor API / exptrack API): " + "; ".join(ratios))
    md += "".join(f"- {line}\n" for line in lines)
    finish(args, "Dashboard speed (exptrack ui)", md, {"machine": info, "manifest": m,
                                                       "runs_manifest": runs_manifest,
                                                       "samples": results, "medians": med})


if __name__ == "__main__":
    main()
