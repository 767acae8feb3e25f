"""Where a sweep's pipeline lives: the project root, found as DVC finds its repository.

``exptrack.grid_search()`` is called from notebooks and scripts anywhere under a project; its
default program (``stages/train.py``) and params file are paths relative to the project root.
Like DVC (which walks up to the directory holding ``.dvc``), the root is the nearest directory,
the current one or a parent, that holds ``dvc.yaml`` or ``params.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from exptrack_core.errors import ExptrackError

MARKERS = ("dvc.yaml", "params.yaml")


@dataclass(frozen=True)
class Project:
    root: Path          # where trials run (their working directory)
    program: str        # the program, as given when it exists from here, else absolute
    params_file: Path   # the params file the sweep's keys are checked against

    @property
    def moved(self) -> bool:
        """True when the root is not the current directory (paths were resolved against it)."""
        return self.root != Path.cwd()


def find_root(start: Path) -> Path | None:
    """The nearest directory, ``start`` or a parent, holding dvc.yaml or params.yaml."""
    for d in (start, *start.parents):
        if any((d / m).is_file() for m in MARKERS):
            return d
    return None


def locate(program: str | os.PathLike, params_file: str | os.PathLike) -> Project:
    """The project that runs ``program``: here when it exists from here, else the project root.

    Refused in one message saying where it looked and how to point elsewhere."""
    here = Path.cwd()
    prog = Path(program)
    if prog.exists():
        return Project(here, os.fspath(program), Path(params_file))
    root = None if prog.is_absolute() else find_root(here)
    if root is not None and (root / prog).exists():
        params = Path(params_file)
        return Project(root, str(root / prog), params if params.is_absolute() else root / params)
    if prog.is_absolute():
        where = f"{str(prog)!r} does not exist"
    elif root is None:
        where = (f"{str(prog)!r} is not in {str(here)!r}, and neither it nor a parent directory "
                 f"holds {' or '.join(MARKERS)} (a project root)")
    else:
        where = (f"{str(prog)!r} is in neither {str(here)!r} nor the project root {str(root)!r} "
                 f"(the nearest directory with {' or '.join(MARKERS)})")
    raise ExptrackError(f"no pipeline to run: {where}; run from the project root, or pass "
                        "program='path/to/train.py' (and params_file='path/to/params.yaml')")


__all__ = ["MARKERS", "Project", "find_root", "locate"]
