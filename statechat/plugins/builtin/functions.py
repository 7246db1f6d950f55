"""Built-in functions for expressions (``condition``, ``loop_condition``) and template filters.

All are pure and fast. String helpers accept ``None`` (treated as ``""``) so that a condition on
an optional variable does not fail; ``contains`` / ``startswith`` / ``endswith`` are ``False``
for ``None``.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any

from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.registry import Register

__all__ = [
    "BUILTIN_FILTERS",
    "BUILTIN_FUNCTIONS",
    "coalesce",
    "contains",
    "endswith",
    "is_number",
    "lower",
    "money",
    "register_functions",
    "register_template_filters",
    "startswith",
    "strip",
    "upper",
]


def _s(x: Any) -> str:
    return "" if x is None else builtins.str(x)


def lower(x: Any) -> str:
    """``x`` as lowercase text (``None`` -> ``""``)."""
    return _s(x).lower()


def upper(x: Any) -> str:
    """``x`` as uppercase text (``None`` -> ``""``)."""
    return _s(x).upper()


def strip(x: Any, chars: str | None = None) -> str:
    """``x`` as text without leading/trailing whitespace (or ``chars``)."""
    return _s(x).strip(chars)


def contains(container: Any, item: Any) -> bool:
    """``item in container``; ``False`` when ``container`` is ``None`` or not a container."""
    if container is None:
        return False
    if isinstance(container, builtins.str):
        return _s(item) in container
    try:
        return item in container
    except TypeError:
        return False


def startswith(text: Any, prefix: Any) -> bool:
    """Whether ``text`` starts with ``prefix`` (``False`` for ``None``)."""
    return text is not None and _s(text).startswith(_s(prefix))


def endswith(text: Any, suffix: Any) -> bool:
    """Whether ``text`` ends with ``suffix`` (``False`` for ``None``)."""
    return text is not None and _s(text).endswith(_s(suffix))


def is_number(x: Any) -> bool:
    """Whether ``x`` is a finite number or a string that is one (``"12.5"``); never a bool."""
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    if isinstance(x, float):
        return math.isfinite(x)
    if isinstance(x, builtins.str) and len(x) <= 64:
        try:
            return math.isfinite(builtins.float(x.strip().replace(",", "")))
        except ValueError:
            return False
    return False


def coalesce(*xs: Any) -> Any:
    """The first argument that is not ``None`` (``None`` if all are)."""
    for x in xs:
        if x is not None:
            return x
    return None


#: Everything ``register_functions`` contributes, by name.
BUILTIN_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": builtins.len,
    "lower": lower,
    "upper": upper,
    "strip": strip,
    "int": builtins.int,
    "float": builtins.float,
    "str": builtins.str,
    "bool": builtins.bool,
    "round": builtins.round,
    "min": builtins.min,
    "max": builtins.max,
    "abs": builtins.abs,
    "sum": builtins.sum,
    "any": builtins.any,
    "all": builtins.all,
    "sorted": builtins.sorted,
    "contains": contains,
    "startswith": startswith,
    "endswith": endswith,
    "is_number": is_number,
    "coalesce": coalesce,
}


@hookimpl(trylast=True)
def register_functions(register: Register) -> None:
    """Register the built-in expression functions."""
    for name, function in BUILTIN_FUNCTIONS.items():
        register(name, function)


def money(value: Any, places: int = 2) -> str:
    """Template filter: a number with thousands separators and ``places`` decimals.

    ``{{ balance | money }}`` -> ``1,234.50``. Numeric text is converted; anything else is shown
    as it is (a reply never fails over formatting).
    """
    if isinstance(value, bool):
        return builtins.str(value)
    try:
        number = builtins.float(value)
    except (TypeError, ValueError):
        return _s(value)
    if not math.isfinite(number):
        return _s(value)
    return f"{number:,.{max(0, builtins.int(places))}f}"


#: Everything ``register_template_filters`` contributes, by name.
BUILTIN_FILTERS: dict[str, Callable[..., Any]] = {"money": money}


@hookimpl(trylast=True)
def register_template_filters(register: Register) -> None:
    """Register the built-in template filters."""
    for name, function in BUILTIN_FILTERS.items():
        register(name, function)
