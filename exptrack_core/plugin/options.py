"""Checking the options a user gives a plugin (``backend_options={"wandb": {...}}``, a method's
options block in a sweep file).

Options may come from Python (real bools and numbers) or from YAML/CLI text (``"true"``, ``"30"``),
so each is converted to its declared kind; an unknown key or a bad value is an ``ExptrackError``
naming the backend, the option, the value and what is accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _convert(owner: str, key: str, value: Any, kind: Any) -> Any:
    def bad(accepted: str) -> ExptrackError:
        return ExptrackError(f"invalid option {key}={value!r} for {owner}; expected {accepted}")

    if isinstance(kind, tuple):  # a choice among strings
        if value not in kind:
            raise bad("one of " + ", ".join(kind))
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise bad("true or false")
    if kind is float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad("a number") from None
        if isinstance(value, bool) or not number > 0:
            raise bad("a positive number")
        return number
    if kind is Path:
        if not isinstance(value, (str, Path)) or not str(value):
            raise bad("a directory path")
        return Path(value).expanduser()
    if not isinstance(value, str) or not value:
        raise bad("a non-empty string")
    return value


def check_options(name: str, options: Mapping[str, Any] | None,
                  accepted: Mapping[str, Any], *, kind: str = "backend") -> dict[str, Any]:
    """``options`` converted to the kinds in ``accepted`` (``str``, ``bool``, ``float``, ``Path``
    or a tuple of allowed strings); options left out are absent from the result. ``kind`` names
    what takes them in the messages: ``backend``, ``method`` (a strategy), ``executor``..."""
    owner = f"{kind} {name!r}"
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ExptrackError(f"options for {owner} must be a mapping, "
                            f"got {type(options).__name__}")
    out = {}
    for key, value in options.items():
        if key not in accepted:
            raise ExptrackError(f"unknown option {key!r} for {owner}; "
                                f"accepted: {', '.join(sorted(accepted))}")
        if value is not None:
            out[key] = _convert(owner, key, value, accepted[key])
    return out


__all__ = ["check_options"]
