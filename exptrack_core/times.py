"""Times in records: stored in UTC with their offset (ISO 8601 ``+00:00``), ordered by the instant
they name, shown in local time. Records written before this (local time with its offset, or with
none) still read: a time without an offset is taken as this machine's local time."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def now() -> str:
    """Now, in UTC, to the microsecond (runs created within one second keep their order)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone() if when.tzinfo is None else when  # naive: this machine's local time


def instant(text: Any) -> float:
    """The POSIX time a record's time names; -inf for none or an unreadable one (listed first)."""
    when = _parse(text)
    return float("-inf") if when is None else when.timestamp()


def local(text: Any) -> Any:
    """A record's time as local time, to the second, with its offset; anything else unchanged."""
    when = _parse(text)
    return text if when is None else when.astimezone().isoformat(timespec="seconds")


__all__ = ["instant", "local", "now"]
