"""Keeping secrets out of records: environment variables and command-line flags named like secrets."""

from __future__ import annotations

import re
from typing import Iterable, Mapping

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "AUTH", "CREDENTIAL")
REDACTED = "***"
_FLAG = re.compile(r"^(--?[^=]+)(=)(.*)$")
_WORDS = r"(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH(?!OR)|CREDENTIAL)"
_SECRET = re.compile(_WORDS, re.IGNORECASE)
SHORT_SECRET_FLAGS = ("-p",)  # mysql/psql style: -p PASSWORD
# In free text (a trial's stderr, an error message): NAME=VALUE, --NAME VALUE, "NAME": "VALUE"
# where NAME is secret-like, and -p VALUE. (Not bare "NAME: VALUE": "KeyError: 'lr'" must stay.)
_NAME = r"[\w.-]*" + _WORDS + r"[\w.-]*"
_TEXT = [re.compile(p, re.IGNORECASE) for p in (
    r"((?<![\w-])" + _NAME + r"=['\"]?)([^\s'\",}\]]+)",
    r"((?<!\S)--?" + _NAME + r"\s+['\"]?)([^\s'\"-][^\s'\"]*)",
    r"(\"" + _NAME + r"\"\s*:\s*\")([^\"]+)",
    r"((?<!\S)-p(?:=|\s+))(\S+)")]
MIN_SECRET_LEN = 4  # shorter values would blank out ordinary words


def is_secret_name(name: str) -> bool:
    return bool(_SECRET.search(name))


def redact_text(text: str, env: Mapping[str, str] | None = None,
                values: Iterable[str] = ()) -> str:
    """``text`` without the values of secret-named variables of ``env`` (default: this process's
    environment), without ``values``, and without what follows secret-named flags and keys."""
    import os

    env = os.environ if env is None else env
    secrets = {v for k, v in env.items() if is_secret_name(k)} | {str(v) for v in values}
    for value in sorted((v for v in secrets if len(v) >= MIN_SECRET_LEN), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    for pattern in _TEXT:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def secret_param_values(flat: Mapping[str, object]) -> list[str]:
    """The values of the secret-named params of a flat (dotted) params mapping."""
    return [str(v) for k, v in flat.items() if is_secret_name(str(k).rsplit(".", 1)[-1])
            and v is not None and not isinstance(v, (dict, list))]


def redact_params(flat: Mapping[str, object]) -> dict[str, object]:
    """A flat params mapping for display: secret-named params' values replaced."""
    return {k: (REDACTED if is_secret_name(str(k).rsplit(".", 1)[-1]) and v is not None else v)
            for k, v in flat.items()}


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with every secret-named variable's value replaced."""
    # a non-secret variable may still carry one (EXPTRACK_PARAMS: '{"api_key": "..."}')
    return {k: (REDACTED if is_secret_name(k) else redact_text(v, env)) for k, v in env.items()}


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
        elif arg in SHORT_SECRET_FLAGS or (arg.startswith("-") and is_secret_name(arg)):
            out.append(arg)
            hide_next = True
        elif "=" in arg and is_secret_name(arg.split("=", 1)[0]):
            out.append(f"{arg.split('=', 1)[0]}={REDACTED}")
        else:
            out.append(arg)
    return out


__all__ = ["REDACTED", "SECRET_WORDS", "is_secret_name", "redact_argv", "redact_env", "redact_text",
           "redact_params", "secret_param_values"]
