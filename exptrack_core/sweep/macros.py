"""A sweep's ``command`` with its macros expanded into an argv list, the way the W&B agent does it.

As in ``wandb/wandb_agent.py``: a token that is exactly ``${name}`` is replaced by a list of
arguments (``${args}`` -> ``--lr=0.01 --layers=2``), an unknown one by nothing; ``${envvar:NAME}`` is replaced anywhere inside a
token (by ``NAME`` itself when the variable is unset, like W&B). Values are formatted with ``str()``
(``True``, ``None``, ``[1, 2]``). The result is always a list for ``subprocess`` without a shell,
so a value such as ``"; touch pwned"`` reaches the program as one literal argument.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from exptrack_core.errors import ExptrackError

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
MACROS = ("env", "interpreter", "program", "args", "args_no_equals", "args_no_hyphens",
          "args_no_boolean_flags", "args_json", "args_json_file", "args_append_hydra",
          "args_override_hydra")
ENVVAR = re.compile(r"\$\{envvar\:([A-Z0-9_]*)\}")


@dataclass
class ExpandedCommand:
    """The argv to run, and the ``${args_json_file}`` file the caller deletes after the trial."""

    argv: list[str]
    json_file: Path | None = None


def _macro(token: str) -> str | None:
    return token[2:-1] if token.startswith("${") and token.endswith("}") else None


def check_command(command: Sequence[str]) -> list[str]:
    """Warn (one stderr line each) about whole-token macros that do not exist, and return them:
    the W&B agent drops such a token from the argv, and so does ``expand_command``."""
    unknown = [str(t) for t in command if _macro(str(t)) is not None
               and _macro(str(t)) not in MACROS and not ENVVAR.fullmatch(str(t))]
    for token in unknown:
        print(f"exptrack: warning: command: unknown macro {token!r} is dropped, as wandb agent "
              f"drops it; available: {', '.join('${' + m + '}' for m in MACROS)}, "
              "${envvar:NAME}", file=sys.stderr)
    return unknown


def command_args(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every argument-list macro, as ``create_sweep_command_args`` in wandb's
    ``sdk/launch/sweeps/utils.py`` makes them: one flag per name as given, never split on dots.

    ``params`` is the W&B view of a trial (``ParamSpace.agent_args``): a nested block is one
    dict value (``--optimizer={'lr': 0.001}``), a dotted name one flat flag.
    """
    out: dict[str, list[str]] = {m: [] for m in ("args", "args_no_equals", "args_no_hyphens",
                                                 "args_no_boolean_flags", "args_append_hydra",
                                                 "args_override_hydra")}
    for name, value in params.items():
        flag = f"{name}={value}"
        out["args"].append("--" + flag)
        out["args_no_equals"] += ["--" + name, str(value)]
        out["args_no_hyphens"].append(flag)
        out["args_append_hydra"].append("+" + flag)
        out["args_override_hydra"].append("++" + flag)
        if isinstance(value, bool):
            if value:  # a false boolean flag is left out
                out["args_no_boolean_flags"].append("--" + name)
        else:
            out["args_no_boolean_flags"].append("--" + flag)
    out["args_json"] = [json.dumps(dict(params))]
    return out


def expand_command(params: Mapping[str, Any], command: Sequence[Any] | None = None, *,
                   program: str | None = None, interpreter: str | None = None,
                   environ: Mapping[str, str] | None = None,
                   json_dir: str | os.PathLike | None = None) -> ExpandedCommand:
    """The argv for one trial.

    Args:
        params: the trial's params as W&B names them (``ParamSpace.agent_args``).
        command: the sweep's ``command`` list; ``None`` means ``${env} ${interpreter} ${program}
            ${args}``.
        program: the sweep's ``program``, for ``${program}``.
        interpreter: for ``${interpreter}``; defaults to this Python (``sys.executable``) where
            the W&B agent uses ``python`` from PATH.
        environ: for ``${envvar:NAME}``; defaults to ``os.environ``.
        json_dir: where ``${args_json_file}`` is written (a new temp file; the caller removes it).
    """
    tokens = [str(t) for t in (command or DEFAULT_COMMAND)]
    env = os.environ if environ is None else environ
    values = command_args(params)
    values["env"] = [] if platform.system() == "Windows" else ["/usr/bin/env"]
    values["interpreter"] = [interpreter or sys.executable]
    json_file: Path | None = None
    if "${program}" in tokens:
        if not program:
            raise ExptrackError("the sweep command uses ${program} but the sweep config has no "
                                "program: add program: path/to/train.py, or a command without it")
        values["program"] = [program]
    if "${args_json_file}" in tokens:
        fd, name = tempfile.mkstemp(prefix="exptrack-args-", suffix=".json", dir=json_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(values["args_json"][0])
        json_file = Path(name)
        values["args_json_file"] = [name]
    argv: list[str] = []
    for token in tokens:
        token = ENVVAR.sub(lambda m: env.get(m.group(1), m.group(1)), token)
        name = _macro(token)
        if name is None:
            argv.append(token)
        else:  # an unknown macro gives nothing, as in wandb_agent.py (checked when parsed)
            argv += values.get(name, [])
    return ExpandedCommand(argv, json_file)


__all__ = ["DEFAULT_COMMAND", "ExpandedCommand", "MACROS", "check_command", "command_args",
           "expand_command"]
