"""Types that plugin authors return or raise: validation results, auth results, step types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Valid:
    """A validator accepted the value; ``value`` is the coerced value stored in the slot."""

    value: Any


@dataclass(frozen=True)
class Invalid:
    """A validator rejected the value; ``reason`` is told to the user before the re-prompt."""

    reason: str


ValidationResult = Valid | Invalid


@dataclass(frozen=True)
class AuthResult:
    """What an auth provider decided: verified, denied, or a challenge to put to the user."""

    status: Literal["verified", "denied", "challenge"]
    prompt: str | None = None
    reason: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def verified(cls, **claims: Any) -> AuthResult:
        """The user is who they claim to be (``claims`` are stored under ``auth``)."""
        return cls("verified", claims=claims)

    @classmethod
    def denied(cls, reason: str = "authentication failed") -> AuthResult:
        """The user could not be verified: the flow goes to ``on_error``."""
        return cls("denied", reason=reason)

    @classmethod
    def challenge(cls, prompt: str) -> AuthResult:
        """Ask the user something (e.g. a one-time code); the answer goes to ``answer()``."""
        return cls("challenge", prompt=prompt)


class IntegrationError(Exception):
    """An integration call failed (transport error, non-2xx status, invalid JSON)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


StepOutcome = Literal["ok", "error", "wait"]


@dataclass(frozen=True)
class StepTypeSpec:
    """A step type contributed by a plugin.

    ``run(ctx, step, message)`` is awaited when the step is entered (``message`` is ``None``) and,
    for waiting types, again with each message that arrives while it waits. It returns ``"ok"``
    (continue at ``next_step``), ``"error"`` (``on_error``) or ``"wait"`` (end the turn and wait).
    """

    run: Callable[..., Awaitable[StepOutcome]]
    waits: bool = False
    required: tuple[str, ...] = ()
    description: str = ""
