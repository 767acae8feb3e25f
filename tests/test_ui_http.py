"""`exptrack ui` over plain HTTP: the token off the loopback, artifacts confined to artifacts/,
the experiments directory never written, bad input refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

import exptrack  # noqa: E402
from tests.conftest import assert_one_line_error, run_cli  # noqa: E402
from tests.ui_helpers import UiServer, make_runs, make_sweep, snapshot, wait_for  # noqa: E402


@pytest.fixture
def runs(workdir):
    ids = make_runs(2)
    with exptrack.init(experiment="art") as run:
        (workdir / "cm.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
        (workdir / "page.html").write_text("<script>alert(1)</script>")
        (workdir / "sub").mkdir()
        (workdir / "sub" / "notes.txt").write_text("hello")
        run.log_artifact(workdir / "cm.png")
        run.log_artifact(workdir / "page.html")
        run.log_artifact(workdir / "sub", "sub")
        run.log({"acc": 0.5}, step=0)
    # planted after the run: a link out of the artifacts directory
    (run.dir / "artifacts" / "passwd").symlink_to("/etc/passwd")
    return {"ids": ids, "art": run.id, "root": workdir / "experiments"}


def test_a_loopback_server_needs_no_token_and_prints_its_url(runs):
    with UiServer(runs["root"]) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        assert httpx.get(server.url).status_code == 200
        assert httpx.get(server.base + "/api/runs").json()["total"] == 3


def test_another_address_requires_the_printed_token(runs):
    with UiServer(runs["root"], "--host", "127.0.0.2") as server:  # loopback too, but not the default
        assert "?token=" in server.url
        token = server.url.split("token=")[1]
        plain = f"http://127.0.0.2:{server.port}"
        assert httpx.get(plain + "/api/runs").status_code == 403
        assert httpx.get(plain + "/api/runs?token=wrong").status_code == 403
        assert httpx.get(plain + "/api/runs", headers={"Authorization": f"token {token}"}).status_code == 200
        with httpx.Client() as browser:  # the printed URL once, then the cookie it set
            assert browser.get(server.url.replace("/?", "/api/runs?")).status_code == 200
            assert browser.get(plain + "/api/sweeps").status_code == 200


def test_no_token_serves_another_address_with_a_warning(runs):
    with UiServer(runs["root"], "--host", "127.0.0.2", "--no-token") as server:
        assert "token" not in server.url
        assert httpx.get(f"http://127.0.0.2:{server.port}/api/runs").status_code == 200
        server.stop()
        assert "no token" in server.proc.stderr.read()


def test_a_request_for_another_host_name_is_refused_on_loopback(runs):
    """A page on another site that rebinds its DNS name to 127.0.0.1 gets nothing."""
    with UiServer(runs["root"]) as server:
        assert httpx.get(server.base + "/api/runs", headers={"Host": "evil.example"}).status_code == 403
        assert httpx.get(server.base + "/api/runs", headers={"Host": f"localhost:{server.port}"}).status_code == 200


def test_artifacts_are_served_from_the_run_artifacts_only(runs):
    art = runs["art"]
    with UiServer(runs["root"]) as server:
        get = lambda path: httpx.get(server.base + path)  # noqa: E731
        image = get(f"/artifacts/{art}/cm.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert "attachment" not in image.headers.get("content-disposition", "")
        page = get(f"/artifacts/{art}/page.html")  # downloaded, never rendered in this origin
        assert page.status_code == 200 and "attachment" in page.headers["content-disposition"]
        assert page.headers["content-type"] == "application/octet-stream"
        assert get(f"/artifacts/{art}/sub/notes.txt").text == "hello"
        for path in (f"/artifacts/{art}/..%2Fmeta.json", f"/artifacts/{art}/sub/..%2F..%2Fmeta.json",
                     f"/artifacts/{art}/%2Fetc%2Fpasswd", f"/artifacts/{art}/passwd"):
            refused = get(path)
            assert refused.status_code in (400, 404), path
            assert "root:" not in refused.text and "run_id" not in refused.text, path
        assert "is a link" in get(f"/artifacts/{art}/passwd").json()["error"]
        assert get("/artifacts/nope/cm.png").status_code == 404
        listed = [a["name"] for a in get(f"/api/runs/{art}").json()["artifacts"]]
        assert listed == ["cm.png", "page.html", "sub/notes.txt"]  # the link is not listed


def test_a_page_links_versioned_scripts_the_browser_keeps_and_runs_plotly_itself(runs):
    """plotly.min.js (4.6 MB) is preloaded, not run by the page; its versioned URL is cached for a
    year (a repeat visit neither downloads it nor compiles it again), any other URL revalidated."""
    import re

    with UiServer(runs["root"]) as server:
        html = httpx.get(f"{server.base}/runs/{runs['art']}").text
        preload = re.search(r'<link rel="preload" as="script" href="(/static/plotly\.min\.js\?v=\w+)">', html)
        assert preload and f'src="{preload.group(1)}"' not in html  # app.js runs it after the first screen
        scripts = re.findall(r'<script defer src="(/static/[\w.]+\?v=\w+)">', html)
        assert [s.split("?")[0] for s in scripts] == ["/static/sketch.js", "/static/app.js", "/static/charts.js", "/static/run.js"]
        for url in [preload.group(1), *scripts]:
            got = httpx.get(server.base + url)
            assert got.status_code == 200 and got.headers["cache-control"] == "public, max-age=31536000, immutable", url
        stale = httpx.get(server.base + "/static/plotly.min.js?v=old")
        assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
        assert httpx.get(server.base + "/static/nope.js").status_code == 404
        assert "plotly" not in httpx.get(server.base + "/").text  # the runs page draws no chart


def test_the_ui_never_writes_the_experiments_directory(runs):
    make_sweep()
    before = snapshot(runs["root"])
    with UiServer(runs["root"]) as server:
        c = httpx.Client(base_url=server.base, timeout=120)  # importance imports optuna
        sweep = c.get("/api/sweeps").json()[0]["sweep_id"]
        paths = ["/", "/api/runs", "/api/runs?sort=created_at&desc=1", "/api/sweeps",
                 f"/sweeps/{sweep}", f"/api/sweeps/{sweep}", f"/api/sweeps/{sweep}/curves",
                 f"/api/sweeps/{sweep}/importance", f"/api/compare?runs={','.join(runs['ids'])}",
                 f"/api/runs/{runs['art']}", f"/api/runs/{runs['art']}/curves",
                 f"/artifacts/{runs['art']}/cm.png"]
        for path in paths:
            assert c.get(path).status_code == 200, path
        for method in ("POST", "PUT", "DELETE"):
            assert c.request(method, "/api/runs").status_code == 405
    assert snapshot(runs["root"]) == before


def test_the_runs_table_shows_runs_changed_and_added_while_the_server_runs(runs, workdir):
    """The server reuses its table of the runs while their files are unchanged; a run that
    changes (or a new one) is in the table within a few seconds, without restarting it."""
    from exptrack_plugins.local.tracker import LocalTracker

    def table():
        got = httpx.get(server.base + "/api/runs?experiment=cls", timeout=60).json()
        return {r[0]: dict(zip(got["columns"], r)) for r in got["rows"]}

    changed = runs["ids"][0]
    with UiServer(runs["root"]) as server:
        before = table()
        assert sorted(before) == sorted(runs["ids"]) and before[changed]["status"] == "completed"
        LocalTracker(runs["root"]).set_status(changed, "failed", note="marked failed later")
        added = make_runs(1)[0]
        after = wait_for(lambda: (lambda t: t if added in t and t[changed]["status"] == "failed" else None)(table()))
        assert after, f"the table still shows {table()}"
        assert {k: v for k, v in after[changed].items() if k != "status"} == {
            k: v for k, v in before[changed].items() if k != "status"}


def test_api_errors_name_the_bad_value(runs):
    with UiServer(runs["root"]) as server:
        bad = httpx.get(server.base + "/api/runs?filter=val_acc>>1")
        assert bad.status_code == 400 and "malformed filter" in bad.json()["error"]
        unknown = httpx.get(server.base + "/api/runs/nope")
        assert unknown.status_code == 404 and "unknown run id 'nope'" in unknown.json()["error"]
        assert httpx.get(server.base + "/api/runs?sort=nope").status_code == 404


@pytest.mark.parametrize("args, fragments", [
    (["ui", "--port", "99999"], ["invalid --port 99999"]),
    (["report"], ["--sweep ID or --experiment NAME"]),
    (["report", "--sweep", "nope"], ["unknown sweep 'nope'"]),
    (["report", "--experiment", "nope"], ["no runs of experiment 'nope'"]),
])
def test_bad_ui_and_report_arguments_are_refused_in_one_line(workdir, args, fragments):
    make_runs(1)
    assert_one_line_error(run_cli(*args), *fragments)
    assert not (workdir / "report.html").exists()


def test_an_experiment_report_is_one_self_contained_file(runs, workdir):
    proc = run_cli("report", "--experiment", "cls", "-o", "cls.html", check=True)
    html = (workdir / "cls.html").read_text()
    assert "opens offline" in proc.stdout
    assert "<script src=" not in html and "https://" not in html.split("plotly.js v")[0]
    assert all(r in html for r in runs["ids"])


def test_exptrack_help_does_not_import_the_dashboard():
    code = ("import sys; from exptrack_core.cli.commands import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('starlette', 'uvicorn', 'plotly', 'exptrack_ui') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ).stdout
    assert out.strip().endswith("[]")
