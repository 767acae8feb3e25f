"""Prints what the reliability suite did: faults injected, bad inputs tried, records lost."""

from __future__ import annotations

from .helpers import TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not TALLY:
        return
    terminalreporter.write_sep("-", "reliability")
    terminalreporter.write_line(
        f"faults injected: {TALLY['faults']}, bad inputs tried: {TALLY['bad inputs']}, "
        f"records checked: {TALLY['records checked']}, records lost: {TALLY['records lost']}")
