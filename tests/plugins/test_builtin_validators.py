"""The built-in validators, table-driven: good values (with their coerced form) and bad ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from statechat.plugins.api import Invalid, Valid
from statechat.plugins.manager import get_plugin_manager

TODAY = dt.date.today()
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def validators() -> dict[str, Any]:
    return get_plugin_manager(entry_points=False).registry.values("validators")


NUMBER = {"type": "number", "min": 0.01, "max": 10000}
YES_NO = {"type": "choice", "choices": ["yes", "no"]}

GOOD: list[tuple[dict[str, Any], Any, Any]] = [
    # number
    (NUMBER, "500", 500),
    (NUMBER, 500, 500),
    (NUMBER, 12.5, 12.5),
    (NUMBER, "$1,000.50", 1000.5),
    (NUMBER, "500 dollars", 500),
    (NUMBER, "500.50 USD", 500.5),
    (NUMBER, " 0.01 ", 0.01),
    (NUMBER, "10000", 10000),
    (NUMBER, "$ 20", 20),
    (NUMBER, "20$", 20),
    (NUMBER, ".5", 0.5),
    ({"type": "number"}, "-3", -3),
    ({"type": "number"}, "1,234,567", 1234567),
    # integer
    ({"type": "integer", "min": 1, "max": 10}, "7", 7),
    ({"type": "integer"}, 3.0, 3),
    ({"type": "integer"}, "1,000", 1000),
    # regex
    ({"type": "regex", "pattern": r"[A-Z]\d+"}, "A12", "A12"),
    ({"type": "regex", "pattern": r"\d{4}"}, " 1234 ", "1234"),
    ({"type": "regex", "pattern": r"\d+"}, 42, "42"),
    # choice
    (YES_NO, "yes", "yes"),
    (YES_NO, "YES", "yes"),
    (YES_NO, "y", "yes"),
    (YES_NO, "Yeah!", "yes"),
    (YES_NO, "yep", "yes"),
    (YES_NO, "sure", "yes"),
    (YES_NO, "ok", "yes"),
    (YES_NO, "No", "no"),
    (YES_NO, "n", "no"),
    (YES_NO, "nope", "no"),
    (YES_NO, True, "yes"),
    ({"type": "choice", "choices": ["Checking", "Savings"]}, "savings", "Savings"),
    ({"type": "choice", "choices": ["Checking", "Savings"]}, " CHECKING. ", "Checking"),
    ({"type": "choice", "choices": [1, 2, 3]}, "2", 2),
    # email
    ({"type": "email"}, "Jane.Doe@Example.COM", "Jane.Doe@example.com"),
    ({"type": "email"}, " a+tag@mail.example.org ", "a+tag@mail.example.org"),
    # date
    ({"type": "date"}, "2030-01-31", "2030-01-31"),
    ({"type": "date"}, "today", TODAY.isoformat()),
    ({"type": "date"}, "Tomorrow", TOMORROW.isoformat()),
    ({"type": "date"}, dt.date(2030, 5, 1), "2030-05-01"),
    ({"type": "date", "min": "today"}, "tomorrow", TOMORROW.isoformat()),
    ({"type": "date", "min": "2030-01-01", "max": "2030-12-31"}, "2030-06-15", "2030-06-15"),
    # text
    ({"type": "text"}, "  hello  ", "hello"),
    ({"type": "text", "min_length": 2, "max_length": 5}, "abcde", "abcde"),
    ({"type": "text"}, 12, "12"),
]

BAD: list[tuple[dict[str, Any], Any, str]] = [
    (NUMBER, "abc", "Please enter a number between 0.01 and 10000."),
    (NUMBER, "0", "Please enter a number between 0.01 and 10000."),
    (NUMBER, "10000.01", "Please enter a number between 0.01 and 10000."),
    (NUMBER, -5, "Please enter a number between 0.01 and 10000."),
    (NUMBER, True, "Please enter a number between 0.01 and 10000."),
    (NUMBER, float("nan"), "Please enter a number between 0.01 and 10000."),
    (NUMBER, "5 apples", "Please enter a number between 0.01 and 10000."),
    (NUMBER, "1,00", "Please enter a number between 0.01 and 10000."),
    (NUMBER, "", "Please enter a number between 0.01 and 10000."),
    ({"type": "number"}, "x", "Please enter a number."),
    ({"type": "number", "min": 1}, "0", "Please enter a number of at least 1."),
    ({"type": "number", "max": 9}, "10", "Please enter a number no greater than 9."),
    ({"type": "number", "message": "Amounts are in dollars."}, "lots", "Amounts are in dollars."),
    ({"type": "integer"}, "2.5", "Please enter a whole number."),
    (
        {"type": "integer", "min": 1, "max": 10},
        "11",
        "Please enter a whole number between 1 and 10.",
    ),
    ({"type": "integer"}, False, "Please enter a whole number."),
    ({"type": "regex", "pattern": r"[A-Z]\d+"}, "A12x", "That doesn't look right."),
    (
        {"type": "regex", "pattern": r"\d{4}", "message": "Enter 4 digits."},
        "123",
        "Enter 4 digits.",
    ),
    (YES_NO, "maybe", "Please answer yes or no."),
    (YES_NO, "yes no", "Please answer yes or no."),
    ({"type": "choice", "choices": ["a", "b", "c"]}, "d", "Please choose one of: a, b, c."),
    ({**YES_NO, "message": "Just yes or no, please."}, "hmm", "Just yes or no, please."),
    ({"type": "email"}, "not-an-email", "Please enter a valid email address"),
    ({"type": "email"}, "a@b", "Please enter a valid email address"),
    ({"type": "email"}, "a..b@example.com", "Please enter a valid email address"),
    ({"type": "email"}, "a b@example.com", "Please enter a valid email address"),
    ({"type": "email", "message": "Bad email."}, "x@", "Bad email."),
    ({"type": "date"}, "31/01/2030", "Please enter a date as YYYY-MM-DD"),
    ({"type": "date"}, "2030-02-30", "Please enter a date as YYYY-MM-DD"),
    ({"type": "date", "min": "today"}, "yesterday", f"on or after {TODAY.isoformat()}"),
    ({"type": "date", "max": "2030-01-01"}, "2030-01-02", "on or before 2030-01-01"),
    (
        {"type": "date", "min": "2030-01-01", "max": "2030-12-31"},
        "2031-01-01",
        "between 2030-01-01 and 2030-12-31",
    ),
    ({"type": "text"}, "   ", "Please enter some text."),
    ({"type": "text", "min_length": 3}, "ab", "Please enter at least 3 characters."),
    ({"type": "text", "max_length": 3}, "abcd", "Please enter no more than 3 characters."),
    ({"type": "text", "max_length": 3, "message": "Too long!"}, "abcd", "Too long!"),
    ({"type": "text"}, None, "Please enter some text."),
]


@pytest.mark.parametrize(("rule", "value", "expected"), GOOD)
def test_valid_values_are_coerced(
    validators: dict[str, Any], rule: dict[str, Any], value: Any, expected: Any
) -> None:
    result = validators[rule["type"]](value, rule, None)
    assert result == Valid(expected)
    assert type(result.value) is type(expected)


@pytest.mark.parametrize(("rule", "value", "reason"), BAD)
def test_invalid_values_say_why(
    validators: dict[str, Any], rule: dict[str, Any], value: Any, reason: str
) -> None:
    result = validators[rule["type"]](value, rule, None)
    assert isinstance(result, Invalid)
    assert result.reason.startswith(reason) or reason in result.reason
    assert result.reason.endswith((".", "!"))  # a sentence for the user


@pytest.mark.parametrize(
    "rule",
    [
        {"type": "regex"},
        {"type": "choice"},
        {"type": "choice", "choices": []},
        {"type": "date", "min": "someday"},
    ],
)
def test_misconfigured_rules_raise(validators: dict[str, Any], rule: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        validators[rule["type"]]("x", rule, None)


def test_seed_amount_rule_keeps_whole_numbers_as_int(validators: dict[str, Any]) -> None:
    # "${amount}" in a reply should read "$500", not "$500.0"
    assert validators["number"]("500", NUMBER, None) == Valid(500)
    assert type(validators["number"]("$500.00", NUMBER, None).value) is int
    assert validators["number"]("500.25", NUMBER, None) == Valid(500.25)
    assert type(validators["number"](500.0, NUMBER, None).value) is float  # numbers stay as given
