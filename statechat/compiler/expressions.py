"""Conditions as simpleeval expressions: parsed once at compile time, never ``eval``-ed.

Names in scope when evaluated: every session variable by name, ``variables`` (the dict), ``intent``,
``text``, ``entities``, ``confidence``, ``user_id``, ``session_id``, plus plugin functions.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simpleeval import EvalWithCompoundTypes

#: Names every expression may use besides session variables.
CONTEXT_NAMES = frozenset(
    {"variables", "intent", "text", "entities", "confidence", "user_id", "session_id"}
)
CONSTANT_NAMES = {"True": True, "False": False, "None": None}


class ExpressionSyntaxError(ValueError):
    """An expression that does not parse (carries the 1-based column within the expression)."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


class ExpressionEvalError(RuntimeError):
    """An expression failed at run time (missing variable, type error, ...)."""


@dataclass(frozen=True)
class Expression:
    """A parsed expression with the names it reads."""

    source: str
    tree: ast.AST = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()
    """Free names read (variables, context names, constants excluded)."""
    calls: frozenset[str] = frozenset()
    """Functions called by name."""
    variable_refs: frozenset[str] = frozenset()
    """Keys read through ``variables['x']`` / ``variables.get('x')``."""

    def evaluate(self, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
        """Evaluate with these names and functions.

        Raises:
            ExpressionEvalError: any failure, with the expression in the message.
        """
        ev = _evaluator()
        ev.names = names
        ev.functions = functions
        try:
            return ev.eval(self.source, previously_parsed=self.tree)
        except Exception as exc:  # simpleeval raises many kinds; all mean "this failed"
            raise ExpressionEvalError(f"{self.source!r}: {_describe(exc)}") from exc


def _describe(exc: Exception) -> str:
    name = getattr(exc, "name", None)
    if type(exc).__name__ == "NameNotDefined" and name:
        return f"name {name!r} is not defined"
    return f"{type(exc).__name__}: {exc}"


_local = threading.local()


def _evaluator() -> EvalWithCompoundTypes:
    ev = getattr(_local, "ev", None)
    if ev is None:
        ev = _local.ev = EvalWithCompoundTypes()
    return ev


def parse_expression(source: str) -> Expression:
    """Parse once; collect the names, calls and ``variables[...]`` keys the expression reads.

    Raises:
        ExpressionSyntaxError: the text is not one valid expression.
    """
    text = source.strip()
    if not text:
        raise ExpressionSyntaxError("empty expression")
    try:
        module = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionSyntaxError(f"invalid syntax: {exc.msg}", exc.offset or 0) from None
    except ValueError as exc:  # e.g. null bytes
        raise ExpressionSyntaxError(str(exc)) from None
    tree = module.body
    names, calls, refs = _collect(tree)
    return Expression(text, tree, frozenset(names), frozenset(calls), frozenset(refs))


def _collect(tree: ast.AST) -> tuple[set[str], set[str], set[str]]:
    names: set[str] = set()
    calls: set[str] = set()
    refs: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            for t in ast.walk(node.target):
                if isinstance(t, ast.Name):
                    bound.add(t.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.add(node.func.id)
        elif isinstance(node, ast.Subscript) and _is_variables(node.value):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                refs.add(key.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _is_variables(node.func.value)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            # variables.get('x') tolerates a missing x: no reference to check
            pass
    call_funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and id(node) not in call_funcs
            and node.id not in bound
            and node.id not in CONSTANT_NAMES
        ):
            names.add(node.id)
    return names, calls, refs


def _is_variables(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "variables"
