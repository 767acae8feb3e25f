"""params.yaml: reading it safely and applying ``a.b=c`` overrides the way ``dvc exp run -S`` does."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from exptrack_core.errors import ExptrackError

PARAMS_ENV = "EXPTRACK_PARAMS"  # JSON of a sweep trial's flat overrides, set by executors


def _yaml():
    import yaml
    return yaml


def parse_yaml(text: str, source: str) -> Any:
    """Safe YAML: tags such as ``!!python/object`` are refused, never constructed."""
    yaml = _yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ExptrackError(f"{source} is not valid YAML{where}: {problem}") from None


def read_yaml_mapping(path: str | os.PathLike, what: str = "file") -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExptrackError(f"{what} {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExptrackError(f"cannot read {what} {str(p)!r}: {exc}") from None
    data = parse_yaml(text, str(p))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ExptrackError(
            f"{str(p)!r} must be a YAML mapping (key: value), got {type(data).__name__}")
    return data


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 1}}`` -> ``{"train.lr": 1}``. Lists stay values."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def set_dotted(tree: dict[str, Any], dotted: str, value: Any, *, create: bool = True) -> None:
    parts = dotted.split(".")
    node = tree
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            if not create:
                raise KeyError(".".join(parts[: i + 1]))
            child = node[part] = {}
        elif not isinstance(child, dict):
            raise ExptrackError(
                f"cannot set {dotted!r}: {'.'.join(parts[: i + 1])!r} is a value, not a section")
        node = child
    if not create and parts[-1] not in node:
        raise KeyError(dotted)
    node[parts[-1]] = value


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key in sorted(flat, key=lambda k: k.count(".")):
        set_dotted(tree, key, flat[key])
    return tree


def parse_override(text: str) -> tuple[str, Any, bool]:
    """``"train.lr=3e-4"`` -> ``("train.lr", 0.0003, False)``; ``+key=v`` adds a new key."""
    if not isinstance(text, str) or "=" not in text:
        raise ExptrackError(
            f"invalid override {text!r}: expected KEY=VALUE, e.g. train.lr=3e-4 (or +KEY=VALUE "
            "to add a key params.yaml lacks)")
    key, raw = text.split("=", 1)
    add = key.startswith("+")
    key = key.lstrip("+").strip()
    if not key or any(not part for part in key.split(".")):
        raise ExptrackError(f"invalid override {text!r}: the key {key!r} is empty or has an empty part")
    value = parse_yaml(raw, f"the value of override {text!r}") if raw.strip() else ""
    if value is None and raw.strip().lower() not in ("null", "~", "none"):
        value = raw
    return key, value, add


def apply_overrides(params: Mapping[str, Any], overrides: Iterable[str] | Mapping[str, Any],
                    *, strict: bool = True) -> dict[str, Any]:
    """A copy of ``params`` with the overrides applied. With ``strict``, like DVC, a key that does not
    exist needs a leading ``+``."""
    out = copy.deepcopy(dict(params))
    items: list[tuple[str, Any, bool]]
    if isinstance(overrides, Mapping):
        items = [(k, v, not strict) for k, v in overrides.items()]
    else:
        items = [parse_override(o) for o in overrides]
    known = flatten(out)
    for key, value, add in items:
        exists = key in known or any(k.startswith(key + ".") for k in known)
        if strict and not add and not exists:
            import difflib

            close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ExptrackError(
                f"override {key!r} names a key params.yaml does not have{hint} "
                f"(write +{key}=... to add it)")
        set_dotted(out, key, value)
    return out


def env_overrides() -> dict[str, Any]:
    """A sweep trial's overrides from ``EXPTRACK_PARAMS`` (a JSON object), or one clear error."""
    try:
        trial = json.loads(os.environ.get(PARAMS_ENV) or "{}")
    except json.JSONDecodeError as exc:
        raise ExptrackError(f"{PARAMS_ENV} is not valid JSON ({exc}); expected a JSON object "
                            "of param overrides, as a sweep sets it") from None
    if not isinstance(trial, dict):
        raise ExptrackError(f"{PARAMS_ENV} holds a JSON {type(trial).__name__}; expected a JSON "
                            "object of param overrides, as a sweep sets it")
    return trial


def load_params(path: str | os.PathLike = "params.yaml", overrides: Iterable[str] = (),
                *, from_env: bool = True, keep_sweep: bool = False) -> dict[str, Any]:
    """params.yaml with the overrides applied, then a sweep trial's params from the environment.

    The ``sweep:`` section describes a search, not a hyperparameter: it is left out unless
    ``keep_sweep``.
    """
    p = Path(path)
    params = read_yaml_mapping(p, "params file") if p.exists() else {}
    if not keep_sweep:
        params.pop("sweep", None)
    params = apply_overrides(params, list(overrides))
    if from_env and os.environ.get(PARAMS_ENV):
        params = apply_overrides(params, env_overrides(), strict=False)
    return params


__all__ = ["PARAMS_ENV", "apply_overrides", "flatten", "load_params", "parse_override",
           "parse_yaml", "read_yaml_mapping", "set_dotted", "unflatten"]
