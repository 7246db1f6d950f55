"""The built-in expression functions and template filters, as registered."""

from __future__ import annotations

from typing import Any

import pytest
from simpleeval import EvalWithCompoundTypes

from statechat.plugins.builtin.functions import money
from statechat.plugins.manager import get_plugin_manager


@pytest.fixture(scope="module")
def functions() -> dict[str, Any]:
    return get_plugin_manager(entry_points=False).registry.values("functions")


def test_every_listed_function_is_registered(functions: dict[str, Any]) -> None:
    assert set(functions) == {
        "len", "lower", "upper", "strip", "int", "float", "str", "bool", "round", "min", "max",
        "abs", "sum", "any", "all", "sorted", "contains", "startswith", "endswith", "is_number",
        "coalesce",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("len(name)", 5),
        ("lower(name)", "alice"),
        ("upper(name)", "ALICE"),
        ("strip('  x ')", "x"),
        ("lower(missing)", ""),
        ("int('42') + 1", 43),
        ("float('2.5') * 2", 5.0),
        ("str(7) + 'x'", "7x"),
        ("bool(0)", False),
        ("round(2.345, 2)", 2.35),
        ("min(3, 1, 2)", 1),
        ("max(items)", 3),
        ("abs(-4)", 4),
        ("sum(items)", 6),
        ("any([0, 0, 1])", True),
        ("all(items)", True),
        ("sorted([3, 1, 2])", [1, 2, 3]),
        ("contains(items, 2)", True),
        ("contains(items, 9)", False),
        ("contains(name, 'lic')", True),
        ("contains(missing, 'x')", False),
        ("contains(5, 'x')", False),
        ("startswith(name, 'Al')", True),
        ("endswith(name, 'ce')", True),
        ("startswith(missing, '')", False),
        ("is_number(3)", True),
        ("is_number(2.5)", True),
        ("is_number('12.5')", True),
        ("is_number('1,000')", True),
        ("is_number('abc')", False),
        ("is_number(True)", False),
        ("is_number(None)", False),
        ("is_number('nan')", False),
        ("coalesce(missing, None, 'x', 'y')", "x"),
        ("coalesce(missing)", None),
        ("coalesce(0, 1)", 0),
    ],
)
def test_functions_in_expressions(functions: dict[str, Any], expr: str, expected: Any) -> None:
    names = {"name": "Alice", "items": [1, 2, 3], "missing": None}
    assert EvalWithCompoundTypes(names=names, functions=functions).eval(expr) == expected


@pytest.mark.parametrize(
    ("value", "args", "shown"),
    [
        (1234.5, (), "1,234.50"),
        (250, (), "250.00"),
        ("1000000", (), "1,000,000.00"),
        (-3.14159, (3,), "-3.142"),
        (7, (0,), "7"),
        ("n/a", (), "n/a"),
        (None, (), ""),
        (True, (), "True"),
        (float("nan"), (), "nan"),
    ],
)
def test_money_filter(value: Any, args: tuple[Any, ...], shown: str) -> None:
    assert money(value, *args) == shown


async def test_money_filter_is_registered_for_templates() -> None:
    from statechat import Bot

    wf = {"workflow_id": "m", "trigger_intent": "go",
          "steps": [{"id": "say", "type": "response", "response_text": "${{ x | money }}"}],
          "variables": {"x": 1234.5}}
    bot = Bot.from_workflows([wf], entry_points=False)
    try:
        turn = await bot.handle_message("s", "u", "go", intent="go")
    finally:
        await bot.close()
    assert turn.responses == ["$1,234.50"]
