"""``exptrack ...``: the command line. Imports stay light here; each command imports what it needs."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from exptrack_core.errors import ExptrackError

EPILOG = """examples:
  exptrack sweep                              default sweep from params.yaml, local backend
  exptrack runs                               every run, newest last
  exptrack compare --sort-by val_acc          one row per run, best first
  exptrack best --metric val_acc              the winning run and its params
  exptrack plot val_acc -o curves.png         the metric's curve for each run
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other user error
        self.exit(2, f"exptrack: error: {message} (see '{self.prog} --help')\n")


def _add_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", help="experiments directory (default: $EXPTRACK_DIR or ./experiments)")


def _group(p: argparse.ArgumentParser, title: str, *flags: str) -> None:
    """Show these options under their own heading in ``--help``. The options are declared as
    before (one line each, in any order): only the help's grouping moves, never parsing."""
    group = p.add_argument_group(title)
    # right after the general options and the headings made here, before an executor's own
    # group (--executor ray), which is declared first but reads best last
    p._action_groups.remove(group)
    at = max(i for i, g in enumerate(p._action_groups)
             if g in (p._positionals, p._optionals) or getattr(g, "headed", False)) + 1
    group.headed = True
    p._action_groups.insert(at, group)
    for action in [a for a in p._optionals._group_actions if set(a.option_strings) & set(flags)]:
        p._optionals._group_actions.remove(action)
        group._group_actions.append(action)


def _cmd(module: str, name: str) -> Callable:
    def run(args):
        import importlib

        return getattr(importlib.import_module(f"exptrack_core.cli.{module}"), name)(args)
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="exptrack", description="Experiment tracking and hyperparameter sweeps.",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("sweep", help="run a hyperparameter sweep (default: params.yaml's sweep:)")
    p.add_argument("--config", metavar="FILE", help="a sweep YAML (W&B sweep schema and more)")
    p.add_argument("--params", default="params.yaml", metavar="FILE",
                   help="the project's params file (default sweep, -S checks)")
    p.add_argument("--method", help="grid, random, bayes or a plugin's strategy")
    p.add_argument("--metric", help="the metric to optimise (overrides the config's)")
    p.add_argument("--goal", help="minimize or maximize")
    p.add_argument("--trials", type=int, metavar="N", help="run at most N trials (run_cap)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="trials at once (default 1; --resume: the sweep's own)")
    p.add_argument("--backend", metavar="NAME[,NAME]", help="where trials log, e.g. local,wandb")
    p.add_argument("--executor", help="local (default, processes) or a plugin's executor")
    ray = p.add_argument_group("--executor ray")
    ray.add_argument("--ray-address", metavar="HOST:PORT", help="the cluster (default: a local Ray)")
    ray.add_argument("--gpus-per-trial", metavar="N", help="GPUs each trial asks for (default 0)")
    ray.add_argument("--cpus-per-trial", metavar="N", help="CPUs each trial asks for (default 1)")
    ray.add_argument("--resources", metavar="JSON", help='custom resources per trial, e.g. \'{"node_a": 1}\'')
    p.add_argument("--resume", metavar="SWEEP_ID", help="continue a stopped or crashed sweep")
    p.add_argument("--dry-run", action="store_true", help="check the config, show the first trials")
    p.add_argument("--show", type=int, default=5, help=argparse.SUPPRESS)
    p.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a param fixed for every trial, like dvc exp run -S")
    p.add_argument("--max-failures", type=int, default=3, metavar="N",
                   help="stop after N trials failed in a row (default 3)")
    p.add_argument("--max-retries", type=int, metavar="N",
                   help="re-run a trial killed by a signal or crashed at most N times (default 1)")
    p.add_argument("--trial-timeout", metavar="SECONDS",
                   help="stop a trial after SECONDS (SIGTERM, then SIGKILL); it ends timed_out")
    p.add_argument("--seed", type=int, help="seed of the search (random, bayes)")
    p.add_argument("--seeds", type=int, metavar="N",
                   help="run each configuration with N seeds (0..N-1 of --seed-key); ranked by the mean")
    p.add_argument("--seed-key", metavar="KEY", help="the param the seeds go to (default train.seed)")
    p.add_argument("--time-budget", metavar="DURATION",
                   help="start no new trial after DURATION (2h, 30m, 90s or seconds); with "
                   "--resume: a new budget from now")
    p.add_argument("--experiment", help="experiment name of the trials (default: the sweep name)")
    p.add_argument("--yes", action="store_true", help="allow a grid larger than the limit")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    _add_dir(p)
    _group(p, "what to search", "--config", "--params", "--method", "--metric", "--goal", "-S",
           "--seed", "--seeds", "--seed-key")
    _group(p, "when it stops", "--trials", "--time-budget", "--max-failures", "--max-retries",
           "--trial-timeout")
    _group(p, "where trials run and record", "--workers", "--backend", "--executor",
           "--experiment", "--dir")
    p.set_defaults(func=_cmd("sweeps", "cmd_sweep"))

    p = sub.add_parser("sweeps", help="list sweeps: status, trials by status, best value")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    _add_dir(p)
    p.set_defaults(func=_cmd("sweeps", "cmd_sweeps"))

    p = sub.add_parser("promote", help="re-run a sweep's best configs at full budget")
    p.add_argument("sweep_id", metavar="SWEEP_ID", help="the sweep whose best configs re-run")
    p.add_argument("--top", type=int, default=3, metavar="K", help="how many of the best (default 3)")
    p.add_argument("--seeds", type=int, metavar="N", help="run each of them with N seeds")
    p.add_argument("--seed-key", metavar="KEY", help="the param the seeds go to (default train.seed)")
    p.add_argument("-S", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="e.g. -S train.epochs=25")
    p.add_argument("--params", default="params.yaml", metavar="FILE",
                   help="the project's params file (default params.yaml)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="trials at once (default 1)")
    p.add_argument("--backend", metavar="NAME[,NAME]", help="where trials log, e.g. local,wandb")
    p.add_argument("--executor", help="local (default, processes) or a plugin's executor")
    p.add_argument("--max-failures", type=int, default=3, metavar="N",
                   help="stop after N trials failed in a row (default 3)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    _add_dir(p)
    p.set_defaults(func=_cmd("sweeps", "cmd_promote"))

    p = sub.add_parser("plugins", help="list loaded plugins: name, family, distribution, version, hooks")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(func=_cmd("plugins", "cmd_plugins"))

    p = sub.add_parser("runs", help="list runs with their status and key metrics")
    p.add_argument("experiment", nargs="?", help="only this experiment's runs (default: all)")
    p.add_argument("--sweep", help="only the trials of this sweep")
    p.add_argument("--json", action="store_true", help="print them as JSON (times in UTC)")
    _add_dir(p)
    p.set_defaults(func=_cmd("runs", "cmd_runs"))

    p = sub.add_parser("show", help="one run: params, final metrics, context")
    p.add_argument("run_id", help="a run id, or a prefix only one run id starts with")
    p.add_argument("--json", action="store_true", help="print the whole record as JSON")
    _add_dir(p)
    p.set_defaults(func=_cmd("runs", "cmd_show"))

    p = sub.add_parser("compare", help="one row per run: differing params and final metrics, best first")
    p.add_argument("experiment", nargs="?", help="only this experiment's runs (default: all)")
    p.add_argument("--sweep", help="only the trials of this sweep")
    p.add_argument("--sort-by", metavar="METRIC", help="default: the sweep's metric with --sweep")
    p.add_argument("--mode", help="max (default; with --sweep, the sweep's goal) or min: what "
                   "'best' means")
    p.add_argument("--filter", metavar="EXPR", help="e.g. 'val_acc>0.9,model.name==resnet18'")
    p.add_argument("--columns", metavar="A,B,...", help="exactly these columns (and the run id)")
    p.add_argument("--all-params", action="store_true", help="also params equal in every run")
    p.add_argument("--format", default="table", help="table (default), csv, json or md")
    p.add_argument("--export", metavar="FILE.csv", help="also write the table to a CSV file")
    p.add_argument("--limit", type=int, metavar="N", help="at most N rows (groups, when grouped)")
    p.add_argument("--group-by", metavar="KEYS", help="one row per group of runs with equal KEYS "
                   "(comma-separated params): n, mean ± std, 95%% CI (default for a seeded "
                   "sweep: every param but the seed)")
    p.add_argument("--baseline", metavar="GROUP", help="e.g. train.lr=0.01: p-value of a t-test "
                   "of each group against it (paired when they share seeds, else Welch)")
    p.add_argument("--split", metavar="SPLIT", help="only the metrics of one split (test, val...) or system/*")
    _add_dir(p)
    _group(p, "which runs and rows", "--sweep", "--filter", "--sort-by", "--mode", "--limit", "--dir")
    _group(p, "which columns", "--columns", "--all-params", "--split")
    _group(p, "groups of runs (seeds)", "--group-by", "--baseline")
    p.set_defaults(func=_cmd("runs", "cmd_compare"))

    p = sub.add_parser("batch", help="run a directory of named experiment configs, then compare")
    p.add_argument("directory", metavar="DIR", help="one YAML per experiment: name, description, "
                   "params.yaml overrides")
    p.add_argument("--filter", metavar="PREFIX", help="only the files whose name starts with it")
    p.add_argument("--force", action="store_true", help="also run experiments already completed")
    p.add_argument("--yes", action="store_true", help="start without asking")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="experiments at once")
    p.add_argument("--params", default="params.yaml", metavar="FILE")
    p.add_argument("--backend", metavar="NAME[,NAME]", help="where the runs log, e.g. local,wandb")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    _add_dir(p)
    p.set_defaults(func=_cmd("batch", "cmd_batch"))

    p = sub.add_parser("reproduce", help="the commands that rebuild a run: checkout, install, "
                       "re-run (best prints the re-run line alone)")
    p.add_argument("run_id", help="a run id, or a prefix only one run id starts with")
    p.add_argument("--requirements", action="store_true",
                   help="print the run's distributions as name==version lines (for pip install -r)")
    _add_dir(p)
    p.set_defaults(func=_cmd("reproduce", "cmd_reproduce"))

    p = sub.add_parser("best", help="the winning run and its params, ready to re-run")
    p.add_argument("experiment", nargs="?", help="only this experiment's runs (default: all)")
    p.add_argument("--sweep", help="only the trials of this sweep")
    p.add_argument("--metric", help="required unless --sweep names a sweep with a metric")
    p.add_argument("--mode", help="max (default; with --sweep, the sweep's goal) or min")
    p.add_argument("--format", default="yaml", help="yaml (default) or json")
    _add_dir(p)
    p.set_defaults(func=_cmd("runs", "cmd_best"))

    p = sub.add_parser("plot", help="a metric's curve for each run, in one PNG")
    p.add_argument("metric", nargs="?", help="the metric to draw (with --dvc: only its plots)")
    p.add_argument("--dvc", action="store_true",
                   help="draw the DVC plots dvc.yaml declares as PNGs, offline (-o: a directory)")
    p.add_argument("run_ids", nargs="*", metavar="RUN_ID", help="these runs (default: all)")
    p.add_argument("--experiment", help="only this experiment's runs")
    p.add_argument("--sweep", help="only the trials of this sweep")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="the PNG (default curves.png; with --dvc a directory, default "
                   "dvc_plots_offline)")
    _add_dir(p)
    p.set_defaults(func=_cmd("plot", "cmd_plot"))

    p = sub.add_parser("ui", help="a live local dashboard of the runs and sweeps (read-only)")
    p.add_argument("--port", type=int, default=8765, help="default 8765 (0: any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="default 127.0.0.1; any other address requires the printed token")
    p.add_argument("--no-token", action="store_true", help="serve another address without a token")
    _add_dir(p)
    p.set_defaults(func=_cmd("ui", "cmd_ui"))

    p = sub.add_parser("report", help="one self-contained HTML file of a sweep or an experiment")
    p.add_argument("--sweep", metavar="SWEEP_ID")
    p.add_argument("--experiment", metavar="NAME")
    p.add_argument("-o", "--output", default="report.html")
    _add_dir(p)
    p.set_defaults(func=_cmd("ui", "cmd_report"))
    return parser


def _version() -> str:
    from exptrack_core import __version__

    return f"exptrack {__version__}"


def _check_dir(args) -> None:
    """Every command's experiments directory (``--dir``/``EXPTRACK_DIR``) may be missing, but is
    never a file: refused up front rather than read as "no runs" or failed on deep inside."""
    import os

    from exptrack_core.run import resolve_dir

    root = resolve_dir(getattr(args, "dir", None))
    if os.path.exists(root) and not os.path.isdir(root):
        raise ExptrackError(f"{str(root)!r} is not a directory; pass the experiments "
                            "directory as --dir (or EXPTRACK_DIR)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        _check_dir(args)
        return int(args.func(args) or 0)
    except ExptrackError as exc:
        print(f"exptrack: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("exptrack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
