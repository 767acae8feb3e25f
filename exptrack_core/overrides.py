"""``-S`` overrides in the Hydra grammar, applied as ``dvc exp run -S`` applies them.

DVC's own function (``dvc.utils.hydra.apply_overrides``) parses with hydra-core's OverridesParser,
applies with Hydra's config loader onto an OmegaConf struct config (so a key params.yaml lacks needs
``+``, ``~key`` deletes, ``key={a: 1}`` merges), then writes the file as YAML 1.2. We use the same
parser and loader, so the grammar (quoting, escapes, interpolation, list items, ``++``) cannot drift,
and round-trip the result through YAML 1.2 as DVC's file does. hydra-core is imported only here,
only when there are overrides to apply.
"""

from __future__ import annotations

import copy
import io
import re
from typing import Any, Iterable, Mapping

from exptrack_core.errors import ExptrackError

GRAMMAR = "https://hydra.cc/docs/advanced/override_grammar/basic/"


def _parse(text: Any) -> Any:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if not isinstance(text, str):
        raise ExptrackError(f"invalid override {text!r}: expected KEY=VALUE, e.g. train.lr=3e-4")
    key = text.split("=", 1)[0].lstrip("~+").strip()
    if "=" not in text and not text.startswith("~"):
        raise ExptrackError(f"invalid override {text!r}: expected KEY=VALUE, e.g. train.lr=3e-4 "
                            "(+KEY=VALUE adds a key params.yaml lacks, ~KEY deletes one)")
    if not key or any(not part for part in key.split(".")):
        raise ExptrackError(f"invalid override {text!r}: the key {key!r} is empty or has an empty part")
    try:
        return OverridesParser.create().parse_override(text)
    except HydraException as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExptrackError(f"invalid override {text!r}: {why} (the grammar of dvc exp run -S: "
                            f"{GRAMMAR})") from None


def parse_override(text: str) -> tuple[str, Any, bool]:
    """``"train.lr=3e-4"`` -> ``("train.lr", 0.0003, False)``; the flag says the key may be new."""
    ov = _parse(text)
    if ov.is_delete():
        raise ExptrackError(f"override {text!r} deletes a key; a value is needed here")
    if ov.is_sweep_override():
        raise sweep_refusal(text)
    return ov.key_or_group, ov.value(), ov.is_add() or ov.is_force_add()


def sweep_refusal(text: str) -> ExptrackError:
    return ExptrackError(
        f"{text!r} is a DVC sweep value (choice/range/a,b), which stands for several runs: give one "
        "value here (exptrack sweep -S runs a grid over it, as dvc exp run --queue -S does)")


def expand_sweeps(overrides: Iterable[str], seed: int | None = None) -> list[list[str]]:
    """The runs ``dvc exp run --queue -S ...`` queues for these overrides: one list of plain
    overrides per point of the grid the sweep values (``choice``, ``range``, ``a,b``, ``sort``,
    ``shuffle``, ``tag``) span, the last key varying fastest. Hydra's BasicSweeper does the
    expansion, as in ``dvc.utils.hydra.get_hydra_sweeps``; ``shuffle()`` draws from ``seed``
    (0 without: ``--dry-run`` shows the order the sweep runs). Without a sweep value the
    overrides are one run, unchanged. ``~key`` is refused: a sweep trial cannot delete a key."""
    overrides = list(overrides)
    parsed = [_parse(o) for o in overrides]
    for text, ov in zip(overrides, parsed):
        if ov.is_delete():  # a trial gets its params on top of params.yaml: nothing to delete with
            raise ExptrackError(f"-S {text!r} deletes a key, which a sweep's trials cannot do (each "
                                "gets its params on top of params.yaml); delete it there instead")
    if not any(ov.is_sweep_override() for ov in parsed):
        return [overrides]
    import random

    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.types import ValueType
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    for text, ov in zip(overrides, parsed):
        if ov.value_type == ValueType.GLOB_CHOICE_SWEEP:  # DVC refuses it too: no config groups here
            raise ExptrackError(f"-S {text!r}: glob() selects config groups, which params.yaml has "
                                "none of; list the values: choice(a,b) or a,b")
        if ov.value_type == ValueType.INTERVAL_SWEEP:
            raise ExptrackError(f"-S {text!r}: interval() is a continuous range, which a grid cannot "
                                "enumerate; use range(start,stop,step) or put the key in the sweep "
                                "file as {min: ..., max: ...}")
    state = random.getstate()
    random.seed(0 if seed is None else seed)
    try:
        runs = [list(point) for point in BasicSweeper.split_arguments(parsed, None)[0]]
    except (HydraException, OmegaConfBaseException) as exc:  # choice(choice(1,2),3)
        raise ExptrackError(f"cannot expand -S {' '.join(overrides)!r}: {_why(exc)}") from None
    finally:
        random.setstate(state)
    if not runs:  # range(1,1): DVC queues nothing and says nothing
        raise ExptrackError(f"-S {' '.join(overrides)!r} spans no values (an empty range or choice)")
    return runs


def is_sweep(text: str) -> bool:
    return bool(_parse(text).is_sweep_override())


def _plain(item: Any) -> Any:
    if isinstance(item, Mapping):
        return {k: _plain(v) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return [_plain(v) for v in item]
    return item


def _yaml12_roundtrip(data: Any) -> Any:
    """What reading back DVC's written params.yaml gives (a string Hydra made may read as YAML)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.representer.sort_base_mapping_type_on_output = False  # keep params.yaml's order, as DVC does
    buf = io.StringIO()
    yaml.dump(data, buf)
    return yaml.load(buf.getvalue())


def apply_hydra(params: Mapping[str, Any], overrides: Iterable[str], *, strict: bool = True) -> dict:
    """A copy of ``params`` with Hydra overrides applied; ``strict`` (a params.yaml exists): like DVC,
    a key it lacks needs ``+``."""
    overrides = list(overrides)
    if not overrides:
        return copy.deepcopy(dict(params))
    try:
        from hydra._internal.config_loader_impl import ConfigLoaderImpl
        from hydra.errors import HydraException
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException
        from ruamel.yaml.error import YAMLError
    except ImportError:
        raise ExptrackError("-S overrides need hydra-core (DVC's grammar): pip install hydra-core") from None
    parsed = [_parse(o) for o in overrides]
    for text, ov in zip(overrides, parsed):
        if ov.is_sweep_override():
            raise sweep_refusal(text)
    try:
        cfg = OmegaConf.create(_plain(params), flags={"allow_objects": True})
        OmegaConf.set_struct(cfg, strict)
        for text, ov in zip(overrides, parsed):
            try:
                ConfigLoaderImpl._apply_overrides_to_config([ov], cfg)
            except (HydraException, OmegaConfBaseException) as exc:
                raise ExptrackError(f"cannot apply override {text!r}: {_why(exc)}{_hint(ov, params)}") from None
        data = _yaml12_roundtrip(OmegaConf.to_object(cfg))
    except YAMLError as exc:  # a value YAML cannot hold
        raise ExptrackError(f"cannot apply overrides {' '.join(overrides)!r}: {_why(exc)}") from None
    except OmegaConfBaseException as exc:  # an interpolation that does not resolve
        raise ExptrackError(f"cannot apply overrides {' '.join(overrides)!r}: {_why(exc)}") from None
    return data


def _hint(ov: Any, params: Mapping[str, Any]) -> str:
    if ov.is_add() or ov.is_force_add() or ov.is_delete():
        return ""
    import difflib

    from exptrack_core.params import flatten

    key = ov.key_or_group
    known = list(flatten(params))
    if key in known or any(k.startswith(key + ".") for k in known):
        return ""
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    return (f"; params.yaml has no {key!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
            + f" (write +{key}=... to add it)")


def _why(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    lines = [line for line in str(cause).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__




_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def hydra_value(value: Any) -> str:
    """The Hydra-grammar text that ``dvc exp run -S key=TEXT`` turns back into ``value``, type and
    all: strings are always quoted (so ``'1e-3'``, ``'true'``, ``'a,b'``, ``'x#y'`` stay strings) and
    ``${`` is escaped (so it is not an interpolation)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 1e-05, inf, nan: all in Hydra's float grammar
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str) or not _BARE_KEY.match(key):
                raise ExptrackError(f"cannot pass the key {key!r} of {value!r} to dvc exp run -S: "
                                    "a dict key must be a plain name (letters, digits, _ and -)")
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    raise ExptrackError(f"cannot pass {value!r} ({type(value).__name__}) to dvc exp run -S: "
                        "accepted are numbers, strings, booleans, null, lists and dicts")


def _quote(text: str) -> str:
    # OmegaConf reads "\${" as a literal "${" (and "\\" before it as one backslash); in a quoted Hydra
    # string only backslashes that run into a quote (or the closing quote) are escapes, so those are
    # doubled and the quote escaped.
    text = re.sub(r"(\\*)\$\{", lambda m: m.group(1) * 2 + "\\${", text)
    text = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    text = re.sub(r"(\\+)\Z", lambda m: m.group(1) * 2, text)
    return "'" + text + "'"


__all__ = ["apply_hydra", "expand_sweeps", "hydra_value", "is_sweep", "parse_override", "sweep_refusal"]
