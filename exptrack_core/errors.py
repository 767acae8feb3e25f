"""Errors a user can cause and fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class ExptrackError(Exception):
    """A problem with the user's input or environment; the message says what and what would work."""


class UnknownNameError(ExptrackError, KeyError):
    """A name (run id, plugin, metric...) that does not exist; the message lists those that do."""

    def __init__(self, kind: str, name: str, available: list[str] | tuple[str, ...]):
        self.kind, self.name, self.available = kind, name, list(available)
        shown = ", ".join(sorted(self.available)[:30]) or "none"
        more = f" (and {len(self.available) - 30} more)" if len(self.available) > 30 else ""
        super().__init__(f"unknown {kind} {name!r}; available: {shown}{more}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class AmbiguousNameError(UnknownNameError):
    """A prefix (of a run id...) that more than one name starts with; the message lists them.
    An UnknownNameError still, for callers that catch that."""

    def __init__(self, kind: str, name: str, matches: list[str] | tuple[str, ...]):
        super().__init__(kind, name, matches)
        shown = ", ".join(sorted(self.available)[:30])
        more = f" (and {len(self.available) - 30} more)" if len(self.available) > 30 else ""
        self.args = (f"ambiguous {kind} {name!r}: it starts {len(self.available)} of them: "
                     f"{shown}{more}; give more of it",)


class PluginLoadError(ExptrackError):
    """A built-in plugin failed to load: exptrack itself is broken."""


__all__ = ["AmbiguousNameError", "ExptrackError", "PluginLoadError", "UnknownNameError"]
