"""``exptrack ui`` and ``exptrack report``: thin wrappers over the optional ``exptrack_ui``."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from exptrack_core.errors import ExptrackError
from exptrack_core.run import resolve_dir

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _need_ui():
    try:
        import exptrack_ui.server  # noqa: F401
    except ImportError as exc:
        raise ExptrackError(f"the dashboard needs the ui extra ({exc.name} is missing): "
                            "pip install 'exptrack[ui]'") from None


def cmd_ui(args) -> int:
    _need_ui()
    import uvicorn

    from exptrack_ui.server import create_app

    if not 0 <= args.port <= 65535:
        raise ExptrackError(f"invalid --port {args.port}; expected 0..65535")
    root = resolve_dir(args.dir)
    loopback = args.host in LOOPBACK
    # off the loopback anyone on the network could read the runs: a token, as Jupyter does
    token = None if loopback or args.no_token else secrets.token_urlsafe(24)
    hosts = ["127.0.0.1", "localhost", "::1"] if loopback else None
    app = create_app(root, token=token, allowed_hosts=hosts)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                            access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    shown = f"[{args.host}]" if ":" in args.host else args.host

    async def announce():  # the URL once the socket is bound (port 0 picks one)
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
        url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        print(f"exptrack ui: serving {root} read-only at {url}", flush=True)
        if not loopback and args.no_token:
            print("exptrack ui: warning: no token; anyone who can reach this address can read "
                  "the runs", file=sys.stderr, flush=True)

    import asyncio

    async def main():
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            await announce()
        await task

    try:
        asyncio.run(main())
    except OSError as exc:
        raise ExptrackError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0 if server.started else 2


def cmd_report(args) -> int:
    _need_ui()
    from exptrack_ui.report import build_report

    if bool(args.sweep) == bool(args.experiment):
        raise ExptrackError("report needs one of --sweep ID or --experiment NAME")
    html = build_report(resolve_dir(args.dir), sweep=args.sweep, experiment=args.experiment)
    out = Path(args.output)
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ExptrackError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    print(f"wrote {out} ({len(html) // 1024} KiB, opens offline)")
    return 0


__all__ = ["cmd_report", "cmd_ui"]
