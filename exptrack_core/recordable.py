"""Params as the records can hold them: JSON values, checked (and numpy/torch scalars made plain
numbers) before anything of a run is written, so a bad value never leaves half a run behind."""

from __future__ import annotations

from typing import Any, Mapping

from exptrack_core.errors import ExptrackError

MAX_DEPTH = 100  # far past any real config; 1,000 levels overflow json and yaml readers later

ACCEPTED = "strings, numbers, booleans, None, lists and mappings with string keys"


def check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A plain-JSON copy of ``params``, or one ``ExptrackError`` naming the value that cannot be."""
    if not isinstance(params, Mapping):
        raise ExptrackError(f"params must be a mapping, got {type(params).__name__}")
    return _plain(params, "params", 0)


def _plain(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ExptrackError(f"param {where} is nested more than {MAX_DEPTH} levels deep; "
                            f"expected {ACCEPTED}")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise ExptrackError(f"param key {key!r} in {where} is a {type(key).__name__}; "
                                    "expected a string")
            name = str(key)
            if name in out:
                raise ExptrackError(f"param keys {key!r} and {name!r} in {where} are the same key "
                                    "once recorded; keep one")
            out[name] = _plain(item, f"{where}.{name}", depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    if getattr(value, "shape", None) == () and hasattr(value, "item"):  # numpy / torch scalars
        return _plain(value.item(), where, depth)
    if hasattr(value, "tolist") and hasattr(value, "shape"):  # numpy arrays, tensors
        return _plain(value.tolist(), where, depth)
    raise ExptrackError(f"param {where} = {value!r:.80} is a {type(value).__name__}, which cannot "
                        f"be recorded; expected {ACCEPTED}")


__all__ = ["check_params"]
