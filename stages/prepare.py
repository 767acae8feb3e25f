"""Stage 1: read the dataset named by ``data.source`` and save its train/val/test split.

    python stages/prepare.py        # from the repository root; dvc.yaml runs the same
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``stages`` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stages.common import PREPARED, section, stage_main  # noqa: E402


def main(params: dict) -> None:
    from stages.data import prepare

    cfg = section(params, "data", ("source", "image_size", "channels", "val_fraction", "test_fraction",
                                   "seed"))
    sizes = prepare(cfg, PREPARED)
    print(f"prepared {cfg['source']}: " + ", ".join(f"{k} {v}" for k, v in sizes.items())
          + f" -> {PREPARED}")


if __name__ == "__main__":
    stage_main(main)
