"""``exptrack reproduce RUN``: the commands that rebuild a run from what it recorded: the git
checkout, the install of its distributions at their versions, and the command that re-runs it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from exptrack_core.run import get_tracker


def requirements(environment: dict[str, Any]) -> list[str]:
    """``name==version`` for every distribution pip can fetch again (not those installed from a
    directory or URL: their source is the checkout, installed on its own line)."""
    local = environment.get("local") or {}
    return [f"{name}=={version}" for name, version in (environment.get("distributions") or {}).items()
            if name not in local and version]


def _local_installs(environment: dict[str, Any], cwd: str | None) -> list[str]:
    lines = []
    for name, origin in sorted((environment.get("local") or {}).items()):
        url = origin.get("url", "")
        path = unquote(urlparse(url).path) if url.startswith("file://") else url
        where = "." if cwd and path and Path(path) == Path(cwd) else path
        editable = "-e " if origin.get("editable") else ""
        lines.append(f"pip install --no-deps {editable}{shlex.quote(where)}   # {name}, "
                     f"installed from {'this checkout' if where == '.' else url}")
    return lines


def rerun_line(dir: Any, run: dict[str, Any]) -> str:
    """What re-runs it: a sweep trial's line (``exptrack best`` gives the same), else the
    pipeline's ``dvc exp run -S ...`` or the program's own command line."""
    from exptrack_core.cli.rerun import program_command
    from exptrack_core.cli.runs import _rerun, rerun_command
    from exptrack_core.sweep.preflight import is_pipeline

    if run.get("sweep_id"):
        return _rerun(dir, run)
    command = [str(c) for c in (run.get("context") or {}).get("command") or []]
    if len(command) < 2 or is_pipeline({"program": command[1]}):
        return rerun_command(run.get("params") or {})
    return program_command(run.get("params") or {}, command)


def cmd_reproduce(args) -> int:
    run = get_tracker(args.dir).get_run(args.run_id)
    ctx = run.get("context") or {}
    env = ctx.get("environment") or {}
    if args.requirements:
        sys.stdout.write("".join(line + "\n" for line in requirements(env)))
        return 0
    print(f"# rebuild run {run['run_id']} (experiment {run['experiment_name']}, {run['status']}, "
          f"python {ctx.get('python', '?')} on {ctx.get('hostname', '?')})")
    if ctx.get("cwd"):
        print(f"cd {shlex.quote(ctx['cwd'])}")
    git = ctx.get("git")
    if git and git.get("commit"):
        print(f"git checkout {git['commit']}" + (f"   # branch {git['branch']}" if git.get("branch") else ""))
        if git.get("dirty"):
            print(f"# warning: the working tree had uncommitted changes when it ran; commit "
                  f"{git['commit'][:12]} does not hold them, so this may not rebuild it exactly")
    else:
        print("# warning: it ran outside a git repository: there is no commit to check out")
    if env.get("distributions"):
        name = f"requirements-{run['run_id']}.txt"
        print(f"exptrack reproduce {run['run_id']} --requirements > {name}   "
              f"# {len(requirements(env))} distributions at their recorded versions")
        print(f"pip install -r {name}")
        for line in _local_installs(env, ctx.get("cwd")):
            print(line)
    elif ctx.get("packages"):
        pins = " ".join(shlex.quote(f"{k}=={v}") for k, v in ctx["packages"].items() if k != "exptrack")
        print("# warning: this run recorded only its main packages, not its whole environment")
        print(f"pip install {pins}")
    print(rerun_line(args.dir, run))
    return 0


__all__ = ["cmd_reproduce", "requirements", "rerun_line"]
