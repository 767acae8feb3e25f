"""What every benchmark shares: repetitions and medians, the machine, whole-process timing, tables.

Benchmarks are run by hand (never by CI, never as tests); each prints a Markdown section for
``benchmarks/RESULTS.md`` and, with ``--out FILE``, writes the same figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

MIN_REPEAT = 5


def median(samples: Iterable[float]) -> float:
    return statistics.median(list(samples))


def repeat_arg(parser: argparse.ArgumentParser, default: int = MIN_REPEAT) -> None:
    parser.add_argument("--repeat", type=int, default=default,
                        help=f"repetitions per measurement; the median is reported (>= {MIN_REPEAT})")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON to this file")


def check_repeat(n: int) -> int:
    if n < MIN_REPEAT:
        raise SystemExit(f"--repeat {n}: at least {MIN_REPEAT} repetitions are needed for a median")
    return n


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for measured processes: this one, but with bytecode caching allowed.

    ``PYTHONDONTWRITEBYTECODE=1`` (set on some shared machines) makes every process compile
    exptrack's modules from source (an editable install has no ``.pyc``), while the anchors'
    site-packages were compiled by pip at install time: that would be unfair to exptrack and unlike
    a user's machine. The first (warm-up) run writes the ``__pycache__`` files (git-ignored)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(DVC_NO_ANALYTICS="1", WANDB_MODE="offline", WANDB_SILENT="true", **extra)
    return env


def interleaved(cases: dict[str, Callable[[], dict[str, float]]], repeat: int,
                log: Callable[[str], None] | None = None, warmup: bool = True
                ) -> dict[str, dict[str, list[float]]]:
    """Run every case once per round, ``repeat`` rounds, so that a change in the machine's load
    (it is shared) hits every case alike. Each case returns named timings; all are kept. With
    ``warmup``, every case first runs once unrecorded (imports, bytecode, disk caches)."""
    if warmup:
        for name, case in cases.items():
            case()
            if log:
                log(f"warm-up {name} done")
    out: dict[str, dict[str, list[float]]] = {name: {} for name in cases}
    for r in range(repeat):
        for name, case in cases.items():
            for key, value in case().items():
                out[name].setdefault(key, []).append(value)
            if log:
                log(f"round {r + 1}/{repeat} {name}: "
                    + ", ".join(f"{k}={v[-1]:.4g}" for k, v in out[name].items()))
    return out


def timed_process(argv: Sequence[str], *, env: dict[str, str] | None = None,
                  cwd: str | os.PathLike | None = None, stdout: Any = subprocess.DEVNULL
                  ) -> dict[str, float]:
    """Wall seconds and peak RSS (MiB) of one whole process.

    The peak RSS comes from GNU time, a small process that forks the command: ``wait4`` on a
    child of this (large) Python process would report this process's RSS, which the child
    inherits at fork and Linux keeps in its high-water mark across ``exec``."""
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        full = ([str(gnu_time), "-f", "%M", "-o", rss.name, *argv] if gnu_time.exists()
                else list(argv))
        began = time.perf_counter()
        proc = subprocess.run(full, env=env, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE)
        wall = time.perf_counter() - began
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)} exited {proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace')[-2000:]}")
        text = rss.read().strip().splitlines()
    peak = int(text[-1]) / 1024 if gnu_time.exists() and text else float("nan")
    return {"wall_s": wall, "peak_rss_mib": peak}


def tool_path(name: str) -> str | None:
    """The console script ``name`` of this interpreter's environment, not a shim in front of it
    (a pyenv shim adds ~0.2 s of shell to every start)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    import shutil

    return shutil.which(name)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def versions(*dists: str) -> dict[str, str]:
    out = {}
    for d in dists:
        try:
            out[d] = metadata.version(d)
        except metadata.PackageNotFoundError:
            out[d] = "not installed"
    return out


def machine(*dists: str) -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"nproc": os.cpu_count(), "cpu": _cpu_model(), "ram_gib": _ram_gib(),
            "python": platform.python_version(), "os": platform.platform(),
            "loadavg_at_start": [round(x, 2) for x in load] if load else None,
            "versions": versions("exptrack", *dists)}


def command_line() -> str:
    """The exact command that produced these figures, as a user would type it."""
    return shlex.join(["python", *sys.argv])


def machine_lines(info: dict[str, Any]) -> str:
    vers = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return (f"- machine: {info['nproc']} CPU(s) ({info['cpu']}), {info['ram_gib']} GiB RAM, "
            f"Python {info['python']}, {info['os']}; load average at start "
            f"{info['loadavg_at_start']} (shared with other jobs)\n- versions: {vers}\n")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "MISSED")


def finish(args: argparse.Namespace, title: str, markdown: str, data: dict[str, Any]) -> None:
    """Print the Markdown section and write the JSON figures (with machine and command)."""
    info = data.setdefault("machine", machine())
    data.setdefault("command", command_line())
    text = f"## {title}\n\n- command: `{data['command']}`\n{machine_lines(info)}\n{markdown}"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"title": title, **data, "markdown": text}, indent=1,
                                       default=str) + "\n")
        print(f"(figures written to {args.out})", file=sys.stderr)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


__all__ = ["MIN_REPEAT", "bench_env", "check_repeat", "command_line", "finish", "interleaved",
           "machine", "machine_lines", "md_table", "median", "progress", "repeat_arg",
           "timed_process", "tool_path", "verdict", "versions"]
