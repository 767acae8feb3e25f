"""The figures exptrack saves, read back as matplotlib objects (legend texts, ticks, line data)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def drawn(monkeypatch):
    """{absolute path written: the Figure saved there}, in the order they were saved."""
    from matplotlib.figure import Figure

    figures: dict[str, Figure] = {}
    save = Figure.savefig

    def keep(self, path, *args, **kwargs):
        figures[Path(path).absolute().as_posix()] = self
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def last(figures: dict):
    return list(figures.values())[-1]
