"""docs/plugins.md documents every hook of hookspecs.py, with the hook's argument names."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from statechat.plugins import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
HEADING = re.compile(r"^### (?P<name>\w+)\((?P<args>.*)\)\s*$", re.MULTILINE)


def _specs() -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, "statechat_spec")
    }


def _split_args(args: str) -> list[str]:
    """Top-level comma split (types such as ``dict[str, Any]`` contain commas)."""
    parts, depth, current = [], 0, ""
    for ch in args:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def _documented() -> dict[str, list[str]]:
    text = DOC.read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for m in HEADING.finditer(text):
        names = []
        for arg in _split_args(m["args"]):
            name, _, annotation = arg.partition(":")
            assert annotation.strip(), f"### {m['name']}: argument {name.strip()!r} has no type"
            names.append(name.strip())
        out[m["name"]] = names
    return out


def test_hookspecs_are_found() -> None:
    specs = _specs()
    assert {"register_actions", "parse_message", "on_transition", "on_error"} <= set(specs)


@pytest.mark.parametrize("hook", sorted(_specs()))
def test_every_hook_has_a_heading_with_its_arguments(hook: str) -> None:
    documented = _documented()
    assert hook in documented, f"docs/plugins.md has no '### {hook}(...)' section"
    assert documented[hook] == _specs()[hook]


def test_no_heading_documents_a_hook_that_does_not_exist() -> None:
    assert set(_documented()) <= set(_specs())


def test_every_hook_section_has_an_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    headings = list(HEADING.finditer(text))
    for i, m in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else text.find("\n## ", m.end())
        section = text[m.end() : end if end != -1 else len(text)]
        assert "```python" in section and "@hookimpl" in section, m["name"]


def test_packaging_section_shows_the_entry_point_group() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "## Packaging" in text
    assert "[options.entry_points]\nstatechat =" in text


def test_python_examples_are_valid_python() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(blocks) >= len(_specs())
    for block in blocks:
        compile(block, str(DOC), "exec")
