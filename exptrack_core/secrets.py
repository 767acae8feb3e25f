"""Keeping secrets out of records: environment variables and command-line flags named like secrets."""

from __future__ import annotations

import re
from typing import Iterable, Mapping

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
REDACTED = "***"
_FLAG = re.compile(r"^(--?[^=]+)(=)(.*)$")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with every secret-named variable's value replaced."""
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in env.items()}


def redact_argv(argv: Iterable[str]) -> list[str]:
    """``--api-key=abc`` and ``--api-key abc`` keep the flag and lose the value."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        m = _FLAG.match(arg)
        if m and is_secret_name(m.group(1)):
            out.append(f"{m.group(1)}={REDACTED}")
        elif arg.startswith("-") and is_secret_name(arg):
            out.append(arg)
            hide_next = True
        elif "=" in arg and is_secret_name(arg.split("=", 1)[0]):
            out.append(f"{arg.split('=', 1)[0]}={REDACTED}")
        else:
            out.append(arg)
    return out


__all__ = ["REDACTED", "SECRET_WORDS", "is_secret_name", "redact_argv", "redact_env"]
