"""The Starlette app behind ``exptrack ui``: pages, a JSON API, artifacts, all read-only.

Every page is the same static shell; ``app.js`` fetches the JSON and builds the DOM with
``textContent`` only, so a name or value is never parsed as HTML. The Content-Security-Policy
forbids inline scripts as a second wall. Plotly.js is served from the installed ``plotly``
package: nothing is fetched from the network.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import mimetypes
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from exptrack_core.errors import ExptrackError, UnknownNameError

from exptrack_ui.data import Store
from exptrack_ui import sweeps as sweep_data

STATIC = Path(__file__).parent / "static"
PAGES = ("runs", "run", "compare", "sweep")
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}  # never SVG: it runs scripts
# WebGL traces (parcoords) compile their shaders with new Function: 'unsafe-eval', never 'unsafe-inline'
CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
TOKEN_COOKIE = "exptrack_token"


def plotly_js() -> Path:
    # found, not imported: importing plotly (~0.4 s) would delay a fresh server's first page
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.origin:
        raise ExptrackError("exptrack ui needs plotly: pip install 'exptrack[ui]'")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


# each page's scripts, in order: app.js (the toolkit) first, the page's own module last
PAGE_SCRIPTS = {"runs": ("app.js", "runs.js"),
                "run": ("sketch.js", "app.js", "charts.js", "run.js"),
                "compare": ("app.js", "charts.js", "compare.js"),
                "sweep": ("sketch.js", "app.js", "charts.js", "sweep.js")}
SCRIPTS = ("app.js", "charts.js", "runs.js", "run.js", "compare.js", "sweep.js")  # a report's, inline


def static_files() -> dict[str, Path]:
    files = {name: STATIC / name for name in ("app.css", "sketch.js", *SCRIPTS)}
    return {**files, "plotly.min.js": plotly_js()}


@functools.lru_cache(maxsize=None)
def _version(path: Path) -> str:
    st = path.stat()  # per server process: a file edited while it runs is a new process' business
    return f"{st.st_size:x}{st.st_mtime_ns:x}"


def static_url(name: str) -> str:
    """``/static/NAME?v=VERSION``: the version changes with the file, so the browser may keep
    it for a year (and reuse V8's compiled code of it) without ever running a stale copy."""
    return f"/static/{name}?v={_version(static_files()[name])}"


def shell(page: str, *, inline: dict[str, str] | None = None, data: Any = None) -> str:
    """The page's HTML: a nav, an empty main, the scripts. ``inline`` (for ``exptrack report``)
    puts the CSS and scripts into the file and ``data`` the answers of the API."""
    nav = ('<nav><a href="/">exptrack</a><span id="where"></span>'
           '<span id="live" title="updates while the sweep or run is live"></span></nav>')
    if inline is None:
        head = f'<link rel="stylesheet" href="{static_url("app.css")}">'
        # plotly.js is fetched beside the data but run by app.js only once the first screen is
        # drawn (sketch.js): evaluating its 4.6 MB holds the main thread about a second here.
        # The runs page draws no chart and loads none.
        if page != "runs":
            head += f'<link rel="preload" as="script" href="{static_url("plotly.min.js")}">'
        scripts = "".join(f'<script defer src="{static_url(n)}"></script>' for n in PAGE_SCRIPTS[page])
    else:
        head = f"<style>{inline['css']}</style>"
        payload = json.dumps(data, default=str, allow_nan=False).replace("<", "\\u003c")
        scripts = (f'<script type="application/json" id="exptrack-data">{payload}</script>'
                   f"<script>{_script(inline['plotly'])}</script>"
                   + "".join(f"<script>{_script(inline[n])}</script>" for n in SCRIPTS))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>exptrack</title>'
            f'<meta name="viewport" content="width=device-width">{head}</head>'
            f'<body data-page="{page}">{nav}<main id="app"><p class="muted">loading…</p></main>'
            f"{scripts}</body></html>")


def _script(text: str) -> str:
    return text.replace("</script", "<\\/script")  # a literal in plotly.min.js must not end the tag


def _json(data: Any, status: int = 200) -> Response:
    try:
        body = json.dumps(data, default=str, allow_nan=False)
    except ValueError:  # a NaN somewhere: JSON has none, and JSON.parse would refuse the page
        body = json.dumps(_finite(data), default=str, allow_nan=False)
    return Response(body, status, media_type="application/json", headers=HEADERS)


def _finite(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _error(exc: Exception) -> Response:
    if isinstance(exc, (UnknownNameError, FileNotFoundError)):
        return _json({"error": str(exc) if isinstance(exc, ExptrackError) else "not found"}, 404)
    if isinstance(exc, ExptrackError):
        return _json({"error": str(exc)}, 400)
    raise exc


def create_app(root: str | Path, *, token: str | None = None, allowed_hosts: list[str] | None = None
               ) -> Starlette:
    store = Store(root)

    def page(name: str):
        async def endpoint(request: Request) -> Response:
            return Response(shell(name), media_type="text/html", headers=HEADERS)
        return endpoint

    def api(fn):
        def endpoint(request: Request) -> Response:  # sync: Starlette runs it in a thread
            try:
                return _json(fn(request, request.query_params))
            except Exception as exc:  # noqa: BLE001 - _error re-raises what it does not know
                return _error(exc)
        return endpoint

    def runs(request, q):
        return store.runs_page(experiment=q.get("experiment", ""), sweep=q.get("sweep", ""),
                               status=q.get("status", ""), filter=q.get("filter", ""),
                               sort=q.get("sort", ""), desc=q.get("desc") == "1",
                               offset=_int(q.get("offset"), 0), limit=_int(q.get("limit"), 100))

    def curves(request, q):
        version = q.get("version")
        return store.curves(request.path_params["run_id"],
                            version=int(version) if version and version.isdigit() else None)

    def compare(request, q):
        ids = [r for r in q.get("runs", "").split(",") if r]
        if not ids:
            raise ExptrackError("compare needs ?runs=ID,ID")
        return store.compare(ids)

    def artifact(request: Request) -> Response:
        try:
            path = store.artifact_path(request.path_params["run_id"], request.path_params["name"])
        except Exception as exc:  # noqa: BLE001
            return _error(exc)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = dict(HEADERS)
        if kind not in INLINE_IMAGES:  # an HTML artifact must not run in this origin
            kind = "application/octet-stream" if kind.startswith(("text/html", "image/svg")) else kind
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(path.name)}"
        return FileResponse(path, media_type=kind, headers=headers)

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        files = static_files()
        if name not in files:
            return Response("not found", 404)
        # the versioned URL the pages link is immutable; any other is revalidated each time
        current = request.query_params.get("v") == _version(files[name])
        cache = "public, max-age=31536000, immutable" if current else "no-cache"
        return FileResponse(files[name], headers={**HEADERS, "Cache-Control": cache})

    routes = [
        Route("/", page("runs")), Route("/runs/{run_id}", page("run")),
        Route("/compare", page("compare")), Route("/sweeps/{sweep_id}", page("sweep")),
        Route("/static/{name}", static),
        Route("/api/runs", api(runs)),
        Route("/api/runs/{run_id}", api(lambda r, q: store.run(r.path_params["run_id"]))),
        Route("/api/runs/{run_id}/curves", api(curves)),
        Route("/api/compare", api(compare)),
        Route("/api/sweeps", api(lambda r, q: sweep_data.sweeps_list(store))),
        Route("/api/sweeps/{sweep_id}", api(lambda r, q: sweep_data.sweep_page(store, r.path_params["sweep_id"]))),
        Route("/api/sweeps/{sweep_id}/curves", api(lambda r, q: sweep_data.sweep_curves(
            store, r.path_params["sweep_id"], q.get("version")))),
        Route("/api/sweeps/{sweep_id}/importance", api(lambda r, q: sweep_data.importance(
            store, r.path_params["sweep_id"]))),
        Route("/artifacts/{run_id}/{name:path}", artifact),
    ]
    def warm_up() -> None:  # while the user opens the browser: imports, the first listing and
        import numpy  # noqa: F401   # the runs page's table (0.3-1 s for 10,000 runs)
        import pandas  # noqa: F401

        store.runs_page()

    import threading

    threading.Thread(target=warm_up, daemon=True).start()
    app = Starlette(routes=routes)  # GET (and HEAD) only: anything else is 405
    app.state.store = store
    return Guard(app, token, allowed_hosts)


class Guard:
    """ASGI middleware: the token (when set) on every request, and the Host header checked on a
    loopback server (a DNS-rebinding page on another site must not reach it)."""

    def __init__(self, app, token: str | None, allowed_hosts: list[str] | None):
        self.app, self.token, self.hosts = app, token, allowed_hosts
        self.state = app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.hosts is not None and headers.get("host", "").rsplit(":", 1)[0].strip("[]") not in self.hosts:
            return await Response("unknown host", 403, headers=HEADERS)(scope, receive, send)
        set_cookie = False
        if self.token:
            given = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
            set_cookie = bool(given)
            if not given:
                auth = headers.get("authorization", "")
                given = auth[6:].strip() if auth.lower().startswith("token ") else ""
            if not given:
                cookie = SimpleCookie(headers.get("cookie", ""))
                given = cookie[TOKEN_COOKIE].value if TOKEN_COOKIE in cookie else ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return await Response("a token is required: open the URL that `exptrack ui` printed",
                                      403, headers=HEADERS)(scope, receive, send)

        async def send_with_cookie(message):
            if set_cookie and message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [
                    (b"set-cookie", f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode())]
            await send(message)
        return await self.app(scope, receive, send_with_cookie)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        raise ExptrackError(f"expected a whole number, got {value!r}") from None


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


__all__ = ["create_app", "plotly_js", "shell", "static_url"]
