"""``exptrack ...``: the command line. ``main`` parses; each sub-module holds one group of commands."""

from exptrack_core.cli.commands import main

__all__ = ["main"]
