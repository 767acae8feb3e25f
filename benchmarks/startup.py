"""Start-up: ``exptrack --help`` against ``wandb --help``, ``dvc --help``, ``mlflow --help``.

Whole processes, one warm-up run each, then rounds interleaved (each command once per round);
``python -c pass`` is the floor. hyperfine is not used (no network for apt here); the loop does
what ``hyperfine --warmup 1 --runs N`` does, with medians. Run by hand:

    python benchmarks/startup.py --repeat 10 --out /tmp/startup.json
"""

from __future__ import annotations

import argparse
import sys

from common import (bench_env, check_repeat, finish, interleaved, machine, md_table, median,
                    progress, repeat_arg, timed_process, tool_path, verdict)

TOOLS = ("exptrack", "wandb", "dvc", "mlflow")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    repeat_arg(parser, default=10)
    args = parser.parse_args()
    repeat = check_repeat(args.repeat)
    info = machine("wandb", "dvc", "mlflow")
    env = bench_env()
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    for tool in TOOLS:
        path = tool_path(tool)
        if path is None:
            progress(f"{tool} is not installed: skipped")
            continue
        commands[f"{tool} --help"] = [path, "--help"]
    cases = {name: (lambda argv=argv: timed_process(argv, env=env)) for name, argv in commands.items()}
    results = interleaved(cases, repeat, progress)
    med = {n: {k: median(v) for k, v in r.items()} for n, r in results.items()}
    base = med.get("exptrack --help", {}).get("wall_s")
    rows = [[f"`{n}`", m["wall_s"], f"{m['wall_s'] / base:.1f}x" if base else "",
             m["peak_rss_mib"]] for n, m in med.items()]
    md = (f"{repeat} rounds after one warm-up run each; whole processes.\n\n"
          + md_table(["command", "wall s (median)", "vs exptrack", "peak RSS MiB"], rows))
    others = [m["wall_s"] for n, m in med.items() if n.split()[0] in TOOLS[1:]]
    if base is not None and others:
        md += (f"\n- exptrack --help the fastest of the four: {base:.3f} s vs the fastest other "
               f"{min(others):.3f} s -> {verdict(base < min(others))}\n")
    finish(args, "Start-up", md, {"machine": info, "samples": results, "medians": med})


if __name__ == "__main__":
    main()
