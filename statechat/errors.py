"""Source locations and the exception tree of statechat."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class SourceLocation:
    """A 1-based position in a workflow file; ``str()`` gives ``flows/a.yaml:12:5``."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One finding of the compiler: where, which step, what, and how to fix it."""

    message: str
    location: SourceLocation | None = None
    step: str | None = None
    hint: str | None = None
    severity: Severity = "error"
    code: str = "invalid"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        step = f"{self.step}: " if self.step else ""
        kind = "warning: " if self.severity == "warning" else ""
        text = f"{where}{kind}{step}{self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        """The problem as JSON-ready data (``statechat validate --format json``)."""
        loc = self.location
        return {
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "step": self.step,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class StatechatError(Exception):
    """Root of every error statechat raises on purpose."""


class CompileError(StatechatError):
    """A workflow (or bot) that cannot be compiled; lists every problem at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        self.errors = [p for p in self.problems if p.severity == "error"]
        self.warnings = [p for p in self.problems if p.severity == "warning"]
        super().__init__(self._message())

    def _message(self) -> str:
        n = len(self.errors)
        head = f"{n} error{'s' if n != 1 else ''} found"
        return head + ":\n" + "\n".join(str(p) for p in self.errors)

    def __reduce__(self) -> tuple[type[CompileError], tuple[list[Problem]]]:
        return (type(self), (self.problems,))


class PluginError(StatechatError):
    """A plugin misbehaved (duplicate names, bad registration, failing hook); names the plugin."""


class StoreError(StatechatError):
    """A session store is unavailable or refused a write."""


class ConflictError(StoreError):
    """A compare-and-set write lost against a concurrent writer."""


class StepError(StatechatError):
    """A step failed at run time (the flow follows ``on_error`` / ``error_handling``)."""

    def __init__(self, step: str, message: str, *, code: str = "step_failed") -> None:
        self.step = step
        self.code = code
        super().__init__(f"step {step!r}: {message}")


class UsageError(StatechatError):
    """Bad input from a caller of the Python, HTTP or CLI interface."""

    def __init__(self, message: str, *, code: str = "bad_request", status: int = 400) -> None:
        self.code = code
        self.status = status
        super().__init__(message)
