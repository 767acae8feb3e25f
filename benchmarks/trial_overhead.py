"""Per-trial overhead: seconds a sweep adds to each trial beyond starting a bare Python.

Two trial programs: ``bare.py`` (does nothing) and ``init.py`` (``exptrack.init()``, logs one value,
finishes). For ``exptrack sweep`` (grid, local executor, ``--workers 1``) the per-trial time is the
slope between an N-trial and a 1-trial sweep, ``(T_N - T_1) / (N - 1)``, so the controller's own
start-up is not spread over the trials; the overhead is that minus ``python -c pass``. ``dvc exp
run -S x=<i>`` of a stage running ``bare.py`` is timed one experiment at a time (fewer trials: each
takes seconds). Every measurement is a whole process, rounds interleaved. Run by hand:

    python benchmarks/trial_overhead.py --repeat 5 --trials 50 --dvc-trials 10 --out /tmp/trial_overhead.json
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (bench_env, check_repeat, finish, interleaved, machine, md_table, median, progress,
                    repeat_arg, timed_process, tool_path, verdict)

INIT_PY = """import exptrack

run = exptrack.init()
run.log({"value": 1.0})
run.finish()
"""
SWEEP_YAML = "method: grid\nprogram: {program}\nparameters:\n  x:\n    values: [{values}]\n"
DVC_YAML = "stages:\n  trial:\n    cmd: python bare.py\n    params: [x]\n"


def project(root: Path, trials: int) -> Path:
    work = root / "project"
    work.mkdir(parents=True)
    (work / "bare.py").write_text("pass\n")
    (work / "init.py").write_text(INIT_PY)
    for program in ("bare", "init"):
        for n in (1, trials):
            (work / f"{program}-{n}.yaml").write_text(SWEEP_YAML.format(
                program=f"{program}.py", values=", ".join(str(i) for i in range(n))))
    return work


def dvc_repo(root: Path) -> Path:
    repo = root / "dvc"
    repo.mkdir()
    env = bench_env()

    def sh(*argv: str) -> None:
        subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True)

    sh("git", "init", "-q")
    sh("git", "config", "user.email", "bench@example.com")
    sh("git", "config", "user.name", "bench")
    sh("dvc", "init", "-q")
    (repo / "bare.py").write_text("pass\n")
    (repo / "params.yaml").write_text("x: 0\n")
    (repo / "dvc.yaml").write_text(DVC_YAML)
    sh("dvc", "repro", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "baseline")
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--dvc-trials", type=int, default=10, help="0 skips dvc exp run")
    repeat_arg(parser)
    args = parser.parse_args()
    repeat = check_repeat(args.repeat)
    if args.trials < 2:
        raise SystemExit("--trials must be at least 2 (the slope needs two sweep sizes)")
    info = machine("dvc")
    root = Path(tempfile.mkdtemp(prefix="exptrack-trialbench-"))
    work = project(root, args.trials)
    exptrack = tool_path("exptrack") or "exptrack"
    env = bench_env()
    env.pop("EXPTRACK_DIR", None)
    counter = iter(range(10 ** 6))

    def sweep(program: str, n: int):
        def case():
            runs = work / f"runs-{next(counter)}"  # a fresh directory: no sweep grows another's
            out = timed_process([exptrack, "sweep", "--config", f"{program}-{n}.yaml", "--dir",
                                 str(runs), "--quiet", "--workers", "1", "--executor", "local"],
                                env=env, cwd=work)
            shutil.rmtree(runs, ignore_errors=True)
            return out
        return case

    def standalone(argv):
        def case():
            runs = work / f"runs-{next(counter)}"
            out = timed_process(argv, env={**env, "EXPTRACK_DIR": str(runs)}, cwd=work)
            shutil.rmtree(runs, ignore_errors=True)
            return out
        return case

    cases = {
        "python -c pass": standalone([sys.executable, "-c", "pass"]),
        "python init.py (standalone)": standalone([sys.executable, "init.py"]),
        "sweep bare x1": sweep("bare", 1),
        f"sweep bare x{args.trials}": sweep("bare", args.trials),
        "sweep init x1": sweep("init", 1),
        f"sweep init x{args.trials}": sweep("init", args.trials),
    }
    results = interleaved(cases, repeat, progress)
    med = {n: {k: median(v) for k, v in r.items()} for n, r in results.items()}
    bare_python = med["python -c pass"]["wall_s"]
    per_trial = {}
    for program in ("bare", "init"):
        t1, tn = med[f"sweep {program} x1"]["wall_s"], med[f"sweep {program} x{args.trials}"]["wall_s"]
        per_trial[program] = (tn - t1) / (args.trials - 1)

    dvc_times: list[float] = []
    if args.dvc_trials:
        repo = dvc_repo(root)
        for i in range(1, args.dvc_trials + 1):
            began = time.perf_counter()
            subprocess.run(["dvc", "exp", "run", "-q", "-S", f"x={i}"], cwd=repo, env=env,
                           check=True, capture_output=True)
            dvc_times.append(time.perf_counter() - began)
            progress(f"dvc exp run {i}/{args.dvc_trials}: {dvc_times[-1]:.2f} s")
    shutil.rmtree(root, ignore_errors=True)

    rows = [[f"`{name}`", m["wall_s"], m["peak_rss_mib"]] for name, m in med.items()]
    md = (f"{repeat} rounds, each measurement once per round (whole processes); sweeps are grid "
          f"sweeps of {args.trials} (and 1) trials, local executor, 1 worker, `--quiet`.\n\n"
          + md_table(["measurement", "wall s (median)", "peak RSS MiB"], rows))
    rows = [["exptrack sweep, bare.py", per_trial["bare"], per_trial["bare"] - bare_python],
            ["exptrack sweep, init.py (exptrack.init + 1 value)", per_trial["init"],
             per_trial["init"] - bare_python]]
    if dvc_times:
        d = median(dvc_times)
        rows.append([f"dvc exp run, bare.py (median of {len(dvc_times)} one by one)", d,
                     d - bare_python])
    md += "\n" + md_table(["per trial", "s per trial", "s beyond `python -c pass`"], rows)
    over = per_trial["bare"] - bare_python
    md += (f"\n- exptrack sweep overhead <= 0.3 s per trial (bare program): {over:.3f} s -> "
           f"{verdict(over <= 0.3)}; with exptrack.init in the trial: "
           f"{per_trial['init'] - bare_python:.3f} s -> {verdict(per_trial['init'] - bare_python <= 0.3)}\n")
    if dvc_times:
        md += (f"- `dvc exp run` per trial / exptrack sweep per trial (bare): "
               f"{median(dvc_times) / per_trial['bare']:.1f}x\n")
    finish(args, "Per-trial overhead", md, {
        "machine": info, "samples": results, "medians": med, "per_trial_s": per_trial,
        "python_c_pass_s": bare_python, "dvc_exp_run_s": dvc_times})


if __name__ == "__main__":
    main()
