"""Every installed distribution and its version, as a run records it (``exptrack reproduce``
reinstalls them), and where those installed from a directory or URL came from (PEP 610: PyPI
cannot give those back).

Read with importlib.metadata, not ``pip freeze`` (a subprocess, ten times slower). Only the head
of each METADATA file is scanned: the email parser behind ``dist.metadata`` costs 4x more over a
few hundred distributions. The result is kept once per process and in the user's cache
directory, keyed by the interpreter and the modification time of every ``sys.path`` entry:
installing or removing a distribution adds or removes a ``*.dist-info`` directory, which changes
its parent's mtime, so a stale entry is never used. ``EXPTRACK_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

RACY_NS = 2_000_000_000  # a directory changed in the last 2 s may change again in the same tick


def scan() -> dict[str, Any]:
    import importlib.metadata as md

    versions: dict[str, str] = {}
    local: dict[str, dict[str, Any]] = {}
    for dist in md.distributions():  # sys.path order: the first of a name is what imports
        name, version = _name_version(dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "")
        if not name or name in versions:
            continue
        versions[name] = version or ""
        origin = dist.read_text("direct_url.json")
        if origin:
            try:
                info = json.loads(origin)
                local[name] = {"url": info["url"],
                               "editable": bool((info.get("dir_info") or {}).get("editable"))}
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
        elif (checkout := _source_checkout(dist)) is not None:
            local[name] = {"url": checkout.as_uri(), "editable": True}
    return {"distributions": dict(sorted(versions.items(), key=lambda kv: kv[0].lower())),
            "local": local}


def _source_checkout(dist: Any) -> Path | None:
    """The project directory of an ``*.egg-info`` that a build left in a source tree on
    ``sys.path`` (``python -m pytest`` puts the checkout first): the package imports from there,
    in place, as an editable install does, though the directory has no PEP 610 record."""
    path = getattr(dist, "_path", None)
    if path is None or not str(path).endswith(".egg-info"):
        return None
    parent = Path(path).resolve().parent
    if (parent / "pyproject.toml").is_file() or (parent / "setup.py").is_file():
        return parent
    return None


def _name_version(metadata: str) -> tuple[str | None, str | None]:
    name = version = None
    for line in metadata.splitlines():
        if not line:  # the end of the headers
            break
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            break
    return name, version


def _stamp() -> list[Any] | None:
    """What the installed set depends on; None when a path entry changed too recently to trust."""
    now = time.time_ns()
    entries = []
    for entry in sys.path:
        try:
            mtime = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = None
        if mtime is not None and now - mtime < RACY_NS:
            return None
        entries.append([entry, mtime])
    return [sys.executable, entries]


def _cache_file(stamp: list[Any]) -> Path | None:
    from exptrack_core.files import user_cache_dir

    base = user_cache_dir()
    if base is None:
        return None
    key = hashlib.sha1(json.dumps(stamp).encode("utf-8", "surrogateescape")).hexdigest()
    return base / "environments" / f"{key}.json"


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    stamp = _stamp()
    path = _cache_file(stamp) if stamp is not None else None
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("stamp") == stamp:
                return data["environment"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass
    found = scan()
    if path is not None:
        try:
            from exptrack_core.files import write_text

            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, json.dumps({"stamp": stamp, "environment": found}))
        except Exception:  # a read-only or full disk: runs record it all the same, only slower
            pass
    return found


__all__ = ["environment", "scan"]
