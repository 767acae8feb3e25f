"""``toylog``: a tiny logging library of its own, which knows nothing of exptrack.

A script reads its params with ``toylog.params()`` and logs with ``toylog.log(step, **metrics)``;
where those come from and go to is the environment (``TOYLOG_PARAMS``, ``TOYLOG_DIR``), as W&B
scripts get theirs from ``wandb agent``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FILE = "toylog.csv"


def params() -> dict:
    return json.loads(os.environ.get("TOYLOG_PARAMS", "{}"))


def log(step: int, **metrics: float) -> None:
    with open(Path(os.environ.get("TOYLOG_DIR", ".")) / FILE, "a") as f:
        for name, value in metrics.items():
            f.write(f"{step},{name},{value!r},{time.time()!r}\n")
