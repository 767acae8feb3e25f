"""params.yaml: reading it safely and applying ``a.b=c`` overrides the way ``dvc exp run -S`` does."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from exptrack_core.errors import ExptrackError
from exptrack_core.overrides import parse_override  # noqa: F401  (public here since 0.1)

PARAMS_ENV = "EXPTRACK_PARAMS"  # JSON of a sweep trial's flat overrides, set by executors


MAX_YAML_NODES = 100_000  # expanded through aliases; a real params or sweep file has a few hundred


def _expanded_size(node: Any, source: str) -> int:
    """Nodes the document holds once every alias is expanded, counted without expanding them (a
    521-byte file of nested aliases expands to hundreds of millions)."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(n: Any) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise ExptrackError(f"{source} is refused: an alias refers to itself (recursive YAML)")
        busy.add(key)
        total = 1
        if isinstance(n.value, list):
            for item in n.value:
                for child in (item if isinstance(item, tuple) else (item,)):
                    total += size(child)
                    if total > MAX_YAML_NODES:
                        raise ExptrackError(
                            f"{source} is refused: its aliases expand past {MAX_YAML_NODES:,} "
                            "values (a YAML alias bomb?)")
        busy.discard(key)
        sizes[key] = total
        return total

    return size(node) if node is not None else 0


def parse_yaml(text: str, source: str, *, version: str = "1.2") -> Any:
    """Safe YAML: tags such as ``!!python/object`` are refused, never constructed.

    ``version="1.2"`` reads as DVC reads and writes params.yaml (ruamel.yaml, YAML 1.2 core schema:
    ``1e-05`` is a float, ``yes`` and ``12:30`` are strings); ``"1.1"`` reads as W&B reads sweep files
    (PyYAML). Either way the aliases are counted before anything is built from them.
    """
    if version == "1.1":
        import yaml

        errors: tuple[type[BaseException], ...] = (yaml.YAMLError,)
        compose = lambda t: yaml.compose(t, Loader=yaml.SafeLoader)  # noqa: E731
        load = yaml.safe_load
    else:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError, YAMLFutureWarning

        reader = YAML(typ="safe", pure=True)
        errors = (YAMLError, YAMLFutureWarning)
        compose, load = reader.compose, reader.load
    try:
        _expanded_size(compose(text), source)
        return load(text)
    except errors as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise ExptrackError(f"{source} is not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ExptrackError(f"{source} is refused: it nests too deeply") from None


def read_yaml_mapping(path: str | os.PathLike, what: str = "file", *,
                      version: str = "1.2") -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExptrackError(f"{what} {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExptrackError(f"cannot read {what} {str(p)!r}: {exc}") from None
    data = parse_yaml(text, str(p), version=version)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ExptrackError(
            f"{str(p)!r} must be a YAML mapping (key: value), got {type(data).__name__}")
    return data


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 1}}`` -> ``{"train.lr": 1}``. Lists and empty sections stay values.

    Plain dicts (what JSON gives) are recognised without the ABC check: listing 10,000 runs spent
    a third of ``runs_frame`` in ``isinstance(v, Mapping)``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if type(value) is dict or (not isinstance(value, (str, int, float, list)) and
                                   isinstance(value, Mapping)):
            if value:
                out.update(flatten(value, f"{prefix}{key}."))
                continue
        out[f"{prefix}{key}"] = value
    return out


def deep_merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    """Merge ``new`` into ``into`` section by section (a value replaces, a section merges);
    ``into`` gets copies, so changing ``new`` later never changes it."""
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


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


def value_section_clash(flat: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first pair such as (``dataset``, ``dataset.train_batch``): W&B keeps both names side by
    side, but params.yaml cannot hold a value and a section under one key."""
    names = set(flat)
    for key in sorted(names):
        parts = key.split(".")
        for i in range(1, len(parts)):
            if ".".join(parts[:i]) in names:
                return ".".join(parts[:i]), key
    return None


def tree_or_flat(flat: Mapping[str, Any]) -> dict[str, Any]:
    """A run's recorded params: the tree, or the names as given where a value/section clash
    (legal in a W&B sweep) leaves no tree."""
    return dict(flat) if value_section_clash(flat) else unflatten(flat)


def apply_overrides(params: Mapping[str, Any], overrides: Iterable[str] | Mapping[str, Any],
                    *, strict: bool = True) -> dict[str, Any]:
    """A copy of ``params`` with the overrides applied.

    Strings are ``-S`` overrides in DVC's Hydra grammar, applied as ``dvc exp run -S`` does (with
    ``strict``, a key params.yaml lacks needs ``+``). A mapping holds a sweep trial's params by dotted
    name, set as they are.
    """
    if not isinstance(overrides, Mapping):
        from exptrack_core.overrides import apply_hydra

        return apply_hydra(params, overrides, strict=strict)
    out = copy.deepcopy(dict(params))
    for key, value in overrides.items():
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
        trial = env_overrides()
        clash = value_section_clash(trial)
        if clash:  # only here do dotted names become paths
            raise ExptrackError(
                f"cannot apply the trial's params to {p}: {clash[0]!r} is a value but "
                f"{clash[1]!r} makes it a section; rename one of them in the sweep's parameters")
        params = apply_overrides(params, trial, strict=False)
    return params


__all__ = ["PARAMS_ENV", "apply_overrides", "flatten", "load_params", "parse_override",
           "parse_yaml", "read_yaml_mapping", "set_dotted", "tree_or_flat", "unflatten",
           "value_section_clash"]
