"""Validation of names that become paths: experiments, runs, artifacts, metrics."""

from __future__ import annotations

import numbers
from typing import Any, Mapping

from exptrack_core.errors import ExptrackError

_MAX_BYTES = 255


def check_name(kind: str, name: Any) -> str:
    """Return ``name`` if it is safe as one path component, else raise naming what is wrong."""
    if not isinstance(name, str) or not name:
        raise ExptrackError(f"invalid {kind} name {name!r}: expected a non-empty string")
    problem = None
    if "\x00" in name:
        problem = "contains a NUL byte"
    elif "/" in name or "\\" in name:
        problem = "contains a path separator"
    elif name in (".", "..") or ".." in name:
        problem = "contains '..'"
    elif name.startswith((".", "_")):
        problem = "starts with '.' or '_' (reserved)"
    elif len(name.encode("utf-8", "surrogatepass")) > _MAX_BYTES:
        problem = f"is longer than {_MAX_BYTES} bytes"
    elif any(ord(c) < 32 for c in name):
        problem = "contains a control character"
    if problem:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise ExptrackError(
            f"invalid {kind} name {shown!r}: it {problem}; use letters, digits, '-', '_' and '.' "
            f"(at most {_MAX_BYTES} bytes, no '..')")
    return name


def to_number(key: str, value: Any) -> float:
    """A metric value as a float. NaN and inf are kept; anything non-numeric is an error naming key."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars, 0-d arrays and tensors
    if callable(item):
        try:
            v = item()
        except (ValueError, RuntimeError):
            v = None
        if isinstance(v, numbers.Real):
            return float(v)
    raise ExptrackError(
        f"metric {key!r} has non-numeric value {value!r} ({type(value).__name__}); "
        "log numbers (int, float, numpy or 0-d tensor scalars)")


def check_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise ExptrackError(f"metrics must be a mapping of name to number, got {type(metrics).__name__}")
    out = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key or any(c in key for c in ",\n\r\x00"):
            raise ExptrackError(
                f"invalid metric name {key!r}: expected a non-empty string without ',' or newlines")
        out[key] = to_number(key, value)
    return out


MAX_STEP = 2**63 - 1  # TensorBoard and W&B store steps as int64; past it they stop recording


def check_step(step: Any) -> int | None:
    """``step`` as an int, or one error: a step is None or an integer from 0 to 2**63 - 1."""
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or not 0 <= step <= MAX_STEP:
        raise ExptrackError(f"step must be an integer from 0 to 2**63 - 1 (or None for final "
                            f"metrics), got {step!r}")
    return int(step)


__all__ = ["MAX_STEP", "check_metrics", "check_name", "check_step", "to_number"]
