"""Mirrors a run to Weights & Biases; offline, with no network and no prompt, unless W&B
credentials are set up.

Each exptrack run is one W&B run named after the exptrack run id, its files under
``<run dir>/wandb/`` (the run's directory stays self-contained; the ``dir`` option or
``WANDB_DIR`` puts them elsewhere). Params become the W&B config (nested), metrics logged with a
step become history at that step (several logs at one step are one row), metrics logged without a
step go to the summary, tags ``{k: v}`` become ``"k:v"``, the description becomes the notes, a sweep's
trials share the sweep id as their group, the experiment is the job type.

Options: ``project`` (default ``WANDB_PROJECT`` or ``exptrack``), ``entity``, ``mode``
(``online``/``offline``/``disabled``; default ``WANDB_MODE``, else ``online`` when an API key is
configured and ``offline`` when not), ``dir``, ``job_type``, ``artifacts`` (send logged files as
W&B artifacts; default false).
"""

from __future__ import annotations

import atexit
import copy
import netrc
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from exptrack_core.secrets import redact_argv
from exptrack_core.errors import ExptrackError
from exptrack_core.params import deep_merge
from exptrack_core.plugin.interfaces import RunInfo

from exptrack_core.plugin.options import check_options

OPTIONS = {"project": str, "entity": str, "mode": ("online", "offline", "disabled"),
           "dir": Path, "job_type": str, "artifacts": bool}
DEFAULT_PROJECT = "exptrack"
MAX_TAG = 64  # W&B refuses longer tags
FINISH_TIMEOUT_S = 30.0
_offline_told = threading.Event()
_exit_hooks_done = threading.Event()


def has_credentials() -> bool:
    """Whether wandb would find an API key: the environment or a netrc entry for its host."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname
    try:
        entry = netrc.netrc(os.environ.get("NETRC")).authenticators(host or "")
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(entry and entry[2])


def run_mode(options: Mapping[str, Any]) -> tuple[str, str]:
    """The W&B mode and what chose it."""
    if options.get("mode"):
        return options["mode"], f"mode {options['mode']!r} in the wandb backend options"
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"], f"WANDB_MODE={os.environ['WANDB_MODE']}"
    if has_credentials():
        return "online", "a W&B API key is configured"
    return "offline", "no W&B API key found"


def tag_list(tags: Mapping[str, str]) -> list[str]:
    return [f"{k}:{v}"[:MAX_TAG] for k, v in tags.items()]


def _tell_offline(sync_dir: str, why: str) -> None:
    if _offline_told.is_set():
        return
    _offline_told.set()
    print(f"exptrack: W&B runs offline ({why}); upload a run later with `wandb sync {sync_dir}` "
          "(each run's files are in its own wandb/offline-run-* directory)", file=sys.stderr)


def _finish_exptrack_runs() -> None:
    from exptrack_core.run import finish_active_runs

    finish_active_runs()


def _get_along_with_wandb_exit_hooks() -> None:
    """wandb's first ``init`` in a process (i) registers an atexit teardown of its service, which
    would run before exptrack's own atexit finish (atexit is last in, first out) and leave the
    W&B run to be finished over a closed connection, and (ii) wraps ``sys.excepthook`` to print
    the traceback before calling the previous hook, so a crash printed it twice. Registered once,
    after wandb's: finish exptrack's runs (with the status the crash gives them) first; and let
    wandb record the exit code while the previous hook alone prints."""
    if _exit_hooks_done.is_set():
        return
    _exit_hooks_done.set()
    try:
        atexit.register(_finish_exptrack_runs)
    except RuntimeError:  # the interpreter is already exiting: exptrack's own atexit finishes us
        pass
    owner = getattr(sys.excepthook, "__self__", None)
    previous = getattr(owner, "_orig_excepthook", None)
    if type(owner).__name__ != "ExitHooks" or previous is None:
        return

    def excepthook(exc_type, exc, tb):
        owner.exit_code = 255 if issubclass(exc_type, KeyboardInterrupt) else 1
        owner.exception = exc
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook


class WandbBackend:
    def __init__(self, run: RunInfo, options: Mapping[str, Any] | None = None):
        opts = check_options("wandb", options, OPTIONS)
        import wandb

        self.artifacts = opts.get("artifacts", False)
        self._params: dict[str, Any] = copy.deepcopy(dict(run.params))
        self._last_step: int | None = None
        self._warned_step = False
        mode, why = run_mode(opts)
        if mode in ("online", "run", "shared") and not has_credentials():
            # wandb would ask for a key on a terminal and fail without one: refuse here instead
            raise ExptrackError(
                f"W&B mode {mode!r} needs an API key: run `wandb login` or set WANDB_API_KEY, "
                "or use mode 'offline' and `wandb sync` later")
        root = opts.get("dir") or (None if os.environ.get("WANDB_DIR") else run.run_dir)
        if root is not None:
            # absolute: wandb-core, which may be shared with a parent process (WANDB_SERVICE),
            # resolves a relative dir against its own working directory
            root = Path(root).absolute()
            root.mkdir(parents=True, exist_ok=True)  # wandb warns about a missing dir
        self.run = wandb.init(
            project=opts.get("project") or os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
            entity=opts.get("entity"), name=run.run_id, notes=run.description or None,
            tags=tag_list(run.tags), group=run.sweep_id or None,
            job_type=opts.get("job_type") or run.experiment, config=copy.deepcopy(self._params),
            dir=str(root) if root is not None else None, mode=mode,
            reinit="create_new",  # never finish a run the training script opened itself
            settings=wandb.Settings(silent=True, console="off",
                                    # W&B's run metadata stores sys.argv as given; when it holds
                                    # a secret-named flag, leave the metadata out altogether
                                    x_disable_meta=redact_argv(sys.argv) != sys.argv))
        _get_along_with_wandb_exit_hooks()
        if self.run.offline:
            _tell_offline(self.run.settings.sync_dir, why)

    def log_params(self, params: Mapping[str, Any]) -> None:
        deep_merge(self._params, params)
        # a nested update replaces the whole top-level key in W&B: send the merged subtrees
        self.run.config.update({k: copy.deepcopy(self._params[k]) for k in params},
                               allow_val_change=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None, timestamp: float) -> None:
        if step is None:
            self.run.summary.update(dict(metrics))
            return
        if self._last_step is not None and step < self._last_step:
            if not self._warned_step:
                self._warned_step = True
                print(f"exptrack: warning: wandb backend: step {step} comes after step "
                      f"{self._last_step}; W&B keeps steps increasing, so values logged at an "
                      "earlier step are left out of W&B (the local record keeps them)",
                      file=sys.stderr)
            return
        self._last_step = step
        # no commit: W&B writes a step's row when a later step arrives, merging logs at one step
        self.run.log(dict(metrics), step=step)

    def log_artifact(self, path: Path, name: str) -> None:
        if not self.artifacts:
            return
        import wandb

        artifact = wandb.Artifact(re.sub(r"[^A-Za-z0-9_.-]", "-", name), type="file")
        if Path(path).is_dir():
            artifact.add_dir(str(path))
        else:
            artifact.add_file(str(path), name=name)
        self.run.log_artifact(artifact)

    def finish(self, status: str) -> None:
        self.run.summary["exptrack_status"] = status
        self.run.finish(exit_code=0 if status == "completed" else 1)
        if not self.run.disabled:
            wait_until_written(Path(self.run.settings.sync_file))


def wait_until_written(sync_file: Path, timeout: float = FINISH_TIMEOUT_S) -> None:
    """Wait for wandb-core to write the run's exit record: ``run.finish()`` returns before the
    ``.wandb`` file is flushed, and a run that is finished should be complete on disk."""
    from exptrack_plugins.wandb.records import exit_code

    deadline = time.monotonic() + timeout
    delay = 0.005
    while sync_file.exists() and exit_code(sync_file) is None:
        if time.monotonic() > deadline:
            print(f"exptrack: warning: wandb backend: {sync_file} is still incomplete "
                  f"{timeout:.0f} s after the run finished", file=sys.stderr)
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


__all__ = ["DEFAULT_PROJECT", "OPTIONS", "WandbBackend", "has_credentials", "run_mode", "tag_list",
           "wait_until_written"]
