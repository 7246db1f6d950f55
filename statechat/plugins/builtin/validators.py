"""Built-in slot validators: number, integer, regex, choice, email, date and text.

Every validator has the shape ``validate(value, rule, ctx) -> Valid | Invalid``: it coerces the
user's answer (``"$1,000.50"`` -> ``1000.5``, ``"yeah"`` -> ``"yes"``, ``"tomorrow"`` -> an ISO
date) and checks it against the step's ``validation`` mapping (``rule``). Reasons are sentences
told to the user before the re-prompt; a ``message`` key in the rule replaces the reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from statechat.plugins.api import Invalid, Valid
from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.registry import Register

__all__ = [
    "NO_WORDS",
    "YES_WORDS",
    "parse_number",
    "register_validators",
    "validate_choice",
    "validate_date",
    "validate_email",
    "validate_integer",
    "validate_number",
    "validate_regex",
    "validate_text",
]

Result = Valid | Invalid

# A number as people type it: optional sign and currency, thousands separators, a unit word.
_NUMBER_RE = re.compile(
    r"""^\s*
    (?P<sign1>[-+])?\s*
    (?:\$|US\$|USD|EUR|€|£|GBP)?\s*
    (?P<sign2>[-+])?\s*
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    \s*(?:\$|usd|dollars?|bucks|eur|euros?|€|£|gbp|pounds?)?
    \s*[.!]?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

#: Answers accepted for a ``yes`` choice (lowercase, punctuation stripped).
YES_WORDS = frozenset(
    {
        "yes", "y", "yeah", "yea", "yep", "yup", "ya", "sure", "ok", "okay", "k", "correct",
        "right", "affirmative", "confirm", "confirmed", "absolutely", "definitely", "of course",
        "yes please", "please do", "go ahead", "do it", "sounds good", "true", "si", "oui",
    }
)  # fmt: skip
#: Answers accepted for a ``no`` choice (lowercase, punctuation stripped).
NO_WORDS = frozenset(
    {
        "no", "n", "nope", "nah", "no thanks", "no thank you", "negative", "not really",
        "dont", "do not", "false", "non", "no way",
    }
)  # fmt: skip

_PUNCT_RE = re.compile(r"[^\w\s]+")
_SPACE_RE = re.compile(r"\s+")


def _rule_message(rule: Mapping[str, Any], default: str) -> Invalid:
    message = rule.get("message")
    return Invalid(str(message) if message else default)


def _fmt(x: float | int | Decimal) -> str:
    """A number for a sentence: ``10000`` not ``10000.0``, ``0.01`` not ``1e-02``."""
    if isinstance(x, Decimal):
        x = float(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def parse_number(value: Any) -> int | float | None:
    """Coerce what a user typed into a number, or ``None``.

    Accepts ints and floats (not ``bool``, not NaN/infinity) and strings such as ``"500"``,
    ``"$1,000.50"``, ``"500 dollars"``, ``"500.50 USD"`` or ``"-3"``. Strings with a whole value
    (``"500"``, ``"500.00"``) give an ``int``, others a ``float``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if not isinstance(value, str) or len(value) > 64:
        return None
    m = _NUMBER_RE.match(value)
    if m is None or (m["sign1"] and m["sign2"]):
        return None
    text = m["num"].replace(",", "")
    try:
        dec = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        return None
    if (m["sign1"] or m["sign2"]) == "-":
        dec = -dec
    if dec == dec.to_integral_value():
        return int(dec)
    return float(dec)


def _range_reason(kind: str, lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"Please enter {kind} between {_fmt(lo)} and {_fmt(hi)}."
    if lo is not None:
        return f"Please enter {kind} of at least {_fmt(lo)}."
    if hi is not None:
        return f"Please enter {kind} no greater than {_fmt(hi)}."
    return f"Please enter {kind}."


def _check_range(x: float | int, rule: Mapping[str, Any], kind: str) -> Result:
    lo, hi = rule.get("min"), rule.get("max")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        return _rule_message(rule, _range_reason(kind, lo, hi))
    return Valid(x)


def validate_number(value: Any, rule: Mapping[str, Any], ctx: Any = None) -> Result:
    """``type: number`` with optional ``min`` / ``max``; returns an int or a float."""
    x = parse_number(value)
    if x is None:
        return _rule_message(rule, _range_reason("a number", rule.get("min"), rule.get("max")))
    return _check_range(x, rule, "a number")


def validate_integer(value: Any, rule: Mapping[str, Any], ctx: Any = None) -> Result:
    """``type: integer`` (a whole number) with optional ``min`` / ``max``; returns an int."""
    x = parse_number(value)
    kind = "a whole number"
    if x is None or (isinstance(x, float) and not x.is_integer()):
        return _rule_message(rule, _range_reason(kind, rule.get("min"), rule.get("max")))
    return _check_range(int(x), rule, kind)


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def validate_regex(value: Any, rule: Mapping[str, Any], ctx: Any = None) -> Result:
    """``type: regex`` with ``pattern``: the whole (stripped) answer must match; returns it."""
    pattern = rule.get("pattern")
    if not isinstance(pattern, str):
        raise ValueError("validation type 'regex' needs a 'pattern' string")
    text = _as_text(value)
    if text is None or _compiled(pattern).fullmatch(text) is None:
        return _rule_message(
            rule, "That doesn't look right. Please check the format and try again."
        )
    return Valid(text)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


def _normalize(text: str) -> str:
    return _SPACE_RE.sub(" ", _PUNCT_RE.sub("", text.lower())).strip()


def validate_choice(value: Any, rule: Mapping[str, Any], ctx: Any = None) -> Result:
    """``type: choice`` with ``choices``: case-insensitive; returns the canonical choice.

    When the choices include ``yes`` / ``no``, common synonyms (``y``, ``yeah``, ``sure``, ``ok``,
    ``n``, ``nope``...) count as them.
    """
    raw_choices = rule.get("choices")
    if not isinstance(raw_choices, list | tuple) or not raw_choices:
        raise ValueError("validation type 'choice' needs a non-empty 'choices' list")
    choices: list[Any] = list(raw_choices)
    by_key: dict[str, Any] = {}
    for choice in choices:
        by_key.setdefault(str(choice).strip().lower(), choice)
        by_key.setdefault(_normalize(str(choice)), choice)
    text = ("yes" if value else "no") if isinstance(value, bool) else (_as_text(value) or "")
    for key in (text.lower(), _normalize(text)):
        if key in by_key:
            return Valid(by_key[key])
    norm = _normalize(text)
    if "yes" in by_key and norm in YES_WORDS:
        return Valid(by_key["yes"])
    if "no" in by_key and norm in NO_WORDS:
        return Valid(by_key["no"])
    if set(by_key) >= {"yes", "no"} and len(choices) == 2:
        return _rule_message(rule, "Please answer yes or no.")
    return _rule_message(rule, "Please choose one of: " + ", ".join(str(c) for c in choices) + ".")


_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def validate_email(value: Any, rule: Mapping[str, Any], ctx: Any = None) -> Result:
    """``type: email``: a plausible address (``local@domain.tld``); the domain is lowercased."""
    text = _as_text(value)
    if (
        text is None
        or len(text) > 254
        or _EMAIL_RE.match(text) is None
        or ".." in text
        or text.startswith(".")
        or ".@" in text
    ):
        return _rule_message(rule, "Please enter a valid email address, like name@example.com.")
    local, _, domain = text.rpartition("@")
    if len(local) > 64:
        return _rule_message(rule, "Please enter a valid email address, like name@example.com.")
    return Valid(f"{local}@{domain.lower()}")


_RELATIVE_DAYS = {"today": 0, "now": 0, "tomorrow": 1, "yesterday": -1}


def _parse_date(value: Any, today: dt.date) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _as_text(value)
    if text is None:
        return None
    key = _normalize(text)
    if key in _RELATIVE_DAYS:
        return today + dt.timedelta(days=_RELATIVE_DAYS[key])
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def validate_date(value: Any, rule: Mapping[str, Any], ctx: Any = None) -> Result:
    """``type: date``: ``YYYY-MM-DD``, ``today``, ``tomorrow`` or ``yesterday``; returns ISO text.

    Optional ``min`` / ``max`` are ISO dates or ``today`` / ``tomorrow`` (inclusive bounds).
    """
    today = dt.date.today()
    bounds: list[dt.date | None] = []
    for key in ("min", "max"):
        raw = rule.get(key)
        bound = None if raw is None else _parse_date(raw, today)
        if raw is not None and bound is None:
            raise ValueError(f"validation type 'date': {key} {raw!r} is not a date (YYYY-MM-DD)")
        bounds.append(bound)
    lo, hi = bounds
    day = _parse_date(value, today)
    if day is None:
        return _rule_message(rule, "Please enter a date as YYYY-MM-DD (for example 2030-01-31).")
    if lo is not None and hi is not None and not lo <= day <= hi:
        return _rule_message(rule, f"Please enter a date between {lo} and {hi}.")
    if lo is not None and day < lo:
        return _rule_message(rule, f"Please enter a date on or after {lo}.")
    if hi is not None and day > hi:
        return _rule_message(rule, f"Please enter a date on or before {hi}.")
    return Valid(day.isoformat())


def validate_text(value: Any, rule: Mapping[str, Any], ctx: Any = None) -> Result:
    """``type: text`` with optional ``min_length`` (default 1) / ``max_length``; returns it stripped."""
    text = _as_text(value)
    lo = int(rule.get("min_length", 1) or 0)
    hi = rule.get("max_length")
    if text is None or len(text) < lo:
        if lo <= 1:
            return _rule_message(rule, "Please enter some text.")
        return _rule_message(rule, f"Please enter at least {lo} characters.")
    if hi is not None and len(text) > int(hi):
        return _rule_message(rule, f"Please enter no more than {int(hi)} characters.")
    return Valid(text)


BUILTIN_VALIDATORS: dict[str, Callable[[Any, Mapping[str, Any], Any], Result]] = {
    "number": validate_number,
    "integer": validate_integer,
    "regex": validate_regex,
    "choice": validate_choice,
    "email": validate_email,
    "date": validate_date,
    "text": validate_text,
}


@hookimpl(trylast=True)
def register_validators(register: Register) -> None:
    """Register the built-in validators."""
    for name, validate in BUILTIN_VALIDATORS.items():
        register(name, validate)
