"""Writing files so that a reader or a crash never sees half of one."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from exptrack_core.errors import ExptrackError


def disk_error(path: Path, exc: OSError) -> ExptrackError:
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return ExptrackError(f"no space left to write {path} ({exc.strerror}); "
                             "records written before are intact; free space and resume")
    return ExptrackError(f"cannot write {path}: {exc.strerror or exc}")


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` atomically: readers see the old or the new file, never half of one."""
    write_text(path, json.dumps(data, indent=1, sort_keys=False, default=str, allow_nan=True) + "\n")


def refuse_link(path: Path) -> None:
    """A record file replaced by a link (to a file elsewhere) is never written through."""
    if os.path.islink(path):
        raise ExptrackError(f"{path} is a link, not exptrack's own record file; refusing to read "
                            "or write through it (remove the link)")


def open_append(path: Path, mode: str = "a", **kwargs):
    """Open a record file for appending (``"a"`` or ``"rb+"``), never through a planted link."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT if mode == "a" else os.O_RDWR
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        refuse_link(path)
        raise disk_error(path, exc) from None
    return open(fd, mode, **kwargs)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write in full; it replaces ``path`` in one rename when
    the block ends, so a reader or a crash sees the old file or the new one, never half of one.
    If the block raises, the temporary file is removed and ``path`` is untouched."""
    refuse_link(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a temporary file beside it, then a rename)."""
    try:
        with replacing(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise disk_error(path, exc) from None


CACHE_ENV = "EXPTRACK_CACHE_DIR"


def user_cache_dir() -> Path | None:
    """exptrack's cache directory: ``$EXPTRACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/exptrack``
    (``~/.cache/exptrack``); None when ``EXPTRACK_CACHE_DIR=off`` turns caching off."""
    base = os.environ.get(CACHE_ENV)
    if base is not None and base.strip().lower() in ("", "off", "0", "no", "false"):
        return None
    if base is None:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "exptrack")
    return Path(base)


__all__ = ["CACHE_ENV", "disk_error", "user_cache_dir", "write_json", "write_text"]
