"""Flattening params, merging them section by section and replacing a file atomically are each
written once (``exptrack_core.params``, ``exptrack_core.files``), so a fix to one reaches every
caller; the dead ``EXPTRACK_EXECUTOR`` is gone."""

from __future__ import annotations

import ast

import pytest

from exptrack_core.files import replacing, write_text
from exptrack_core.params import deep_merge, flatten

from .conftest import REPO

SOURCES = [p for d in ("exptrack", "exptrack_core", "plugins", "stages")
           for p in (REPO / d).rglob("*.py")]


def _where(predicate) -> list[str]:
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if predicate(node):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_files_are_replaced_only_through_exptrack_core_files():
    def os_replace(node):
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "replace" and getattr(node.func.value, "id", None) == "os"
    assert [w.split(":")[0] for w in _where(os_replace)] == ["exptrack_core/files.py"]


@pytest.mark.parametrize("names, home", [
    ({"flatten", "_flatten", "_flat"}, "exptrack_core/params.py"),
    ({"merge", "_merge", "deep_merge"}, "exptrack_core/params.py"),
])
def test_each_helper_is_defined_once(names, home):
    defs = _where(lambda n: isinstance(n, ast.FunctionDef) and n.name in names)
    assert [w.split(":")[0] for w in defs] == [home]


def test_exptrack_executor_is_set_and_read_nowhere():
    assert not [p for p in SOURCES if "EXPTRACK_EXECUTOR" in p.read_text()]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "best.json"
    write_text(path, '{"v": 1}\n')
    with pytest.raises(RuntimeError):
        with replacing(path) as tmp:
            tmp.write_text('{"v": 2')  # half written when it fails
            raise RuntimeError("killed mid-save")
    assert path.read_text() == '{"v": 1}\n' and sorted(tmp_path.iterdir()) == [path]
    with replacing(path) as tmp:
        tmp.write_text('{"v": 2}\n')
    assert path.read_text() == '{"v": 2}\n' and sorted(tmp_path.iterdir()) == [path]


def test_deep_merge_merges_sections_and_keeps_copies():
    into = {"train": {"lr": 0.1, "wd": 0.0}, "seed": 1}
    new = {"train": {"lr": 0.2, "sched": {"kind": "cos"}}, "tags": ["a"]}
    deep_merge(into, new)
    new["tags"].append("b")
    new["train"]["sched"]["kind"] = "step"
    assert into == {"train": {"lr": 0.2, "wd": 0.0, "sched": {"kind": "cos"}}, "seed": 1,
                    "tags": ["a"]}
    assert flatten(into) == {"train.lr": 0.2, "train.wd": 0.0, "train.sched.kind": "cos",
                             "seed": 1, "tags": ["a"]}
    assert flatten({"empty": {}, "n": None}) == {"empty": {}, "n": None}
