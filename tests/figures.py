"""The figures exptrack saves, read back as matplotlib objects (legend texts, ticks, line data);
the `drawn` fixture that catches them is in conftest.py, where pytest finds it without an import."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")


def last(figures: dict):
    return list(figures.values())[-1]
