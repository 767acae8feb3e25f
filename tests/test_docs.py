"""Drift checks: every hook is documented in the README, and the README's commands exist."""

from __future__ import annotations

import inspect

from exptrack_core.plugin import hookspecs
from exptrack_core.cli.commands import build_parser

from .conftest import REPO


def _section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_every_hook_spec_is_documented_in_writing_a_plugin():
    section = _section("Writing a plugin")
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, "exptrack_spec")]
    assert len(hooks) >= 5
    missing = [h for h in hooks if f"`{h}(register)`" not in section]
    assert not missing, f"hooks missing from README 'Writing a plugin': {missing}"


def test_every_hook_spec_has_a_docstring_contract():
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if hasattr(fn, "exptrack_spec"):
            assert fn.__doc__ and "Args:" in fn.__doc__, name


def test_every_cli_command_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    assert [c for c in commands if f"exptrack {c}" not in readme] == []


def test_every_hook_spec_has_a_test_that_names_it():
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, "exptrack_spec")]
    tests = [p.read_text() for p in (REPO / "tests").rglob("test_*.py") if p.name != "test_docs.py"]
    untested = [h for h in hooks if not any(h in text for text in tests)]
    assert not untested, f"hooks no test names: {untested}"


def test_every_option_the_readme_gives_a_command_is_one_that_command_takes():
    """A user copies `exptrack CMD --opt ...` from the README: each --opt must be in CMD's --help."""
    import re

    readme = (REPO / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    examples = re.findall(r"`(exptrack [a-z][^`\n]*)`", readme)
    examples += [line for line in readme.splitlines() if re.match(r"\s*exptrack [a-z]", line)]
    unknown = []
    for example in examples:
        for m in re.finditer(r"exptrack ([a-z]+)((?:[ \t]+(?!#)[^\s#|]+)*)", example):
            name, rest = m.groups()
            taken = {s for a in commands[name]._actions for s in a.option_strings}
            unknown += [(name, o) for o in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", rest)
                        if o not in taken]
    assert len(examples) > 40 and unknown == []


def test_the_contents_list_links_every_section_and_only_sections():
    import re

    readme = (REPO / "README.md").read_text()
    sections = [h for h in re.findall(r"^## (.+)$", readme, re.M) if h != "Contents"]
    anchors = [re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in sections]
    links = re.findall(r"\]\(#([^)]+)\)", _section("Contents"))
    assert sorted(links) == sorted(anchors)
