"""The model objects a workflow machine runs on: one frame per workflow run, one turn context.

A :class:`Frame` is the python-statemachine ``model`` of a workflow machine: its ``state``
(the configuration) and its ``vars``. The :class:`TurnContext` carries what exists only during one
turn: the message, the replies, the bot's services, the step budget. Nothing in a turn context is
persisted.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from statechat.errors import StatechatError
from statechat.nlu import NLUResult

if TYPE_CHECKING:
    from statechat.runtime.services import Services


class TurnLimitExceeded(StatechatError):
    """A turn entered more steps than ``limits.max_steps_per_turn`` (a flow that spins)."""


class TurnAborted(BaseException):  # noqa: N818 - a control-flow signal, like GeneratorExit
    """Carries an error out of a workflow machine at once; the runtime unwraps it.

    Workflow classes run with ``catch_errors_as_events=True``: python-statemachine then calls
    callbacks one after another (with ``False`` it wraps each callback group in
    ``asyncio.gather``, a task per group, about a tenth of a turn) and turns an ``Exception``
    raised by a callback into an ``error.execution`` event. Step failures are ``fail`` events
    already; what is left (a spinning flow, a bug) must stop the turn where it happened, so every
    generated callback re-raises it wrapped in this ``BaseException``, which the engine does not
    catch. ``Bot`` turns it back into the error it carries (the workflow ends, the session stays).
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Transition:
    """One recorded transition: the session's state history is made of these."""

    workflow: str
    step: str
    event: str
    source: str | None
    outcome: str | None
    time: float

    def as_dict(self) -> dict[str, Any]:
        """Readable form (``step_history`` of the execution context, the session API)."""
        return {
            "workflow": self.workflow,
            "step": self.step,
            "event": self.event,
            "source": self.source,
            "outcome": self.outcome,
            "time": round(self.time, 3),
        }

    def row(self, turn: int) -> list[Any]:
        """Compact form kept in snapshots, in the order of :data:`HISTORY_FIELDS`."""
        return [turn, round(self.time, 3), self.workflow, self.step, self.event, self.source, self.outcome]


#: Field names of a compact history row in a snapshot.
HISTORY_FIELDS = ("turn", "time", "workflow", "step", "event", "source", "outcome")


def history_dicts(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Snapshot history rows as readable dicts."""
    return [dict(zip(HISTORY_FIELDS, r, strict=False)) for r in rows]


@dataclass
class TurnContext:
    """What one turn needs: message, replies, services, budget and what it recorded."""

    services: Services
    session_id: str
    user_id: str
    turn: int
    epoch: str = ""
    """The session's incarnation (part of every idempotency key)."""
    message: NLUResult = field(default_factory=NLUResult)
    replies: list[str] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    errors: list[tuple[str, str, BaseException]] = field(default_factory=list)
    steps_taken: int = 0
    subflow: str | None = None
    """Set by a ``goto`` step with ``workflow:``: the runtime starts that workflow next."""
    effects: dict[str, Any] = field(default_factory=dict)
    """Side effects completed in this turn (idempotency key -> mapped result); the snapshot keeps
    the last turn's."""
    pending_events: dict[str, Any] = field(default_factory=dict)
    """Webhook payloads delivered while no step was waiting for them, by event name."""
    payload: Any = None
    """The payload of the webhook event being delivered in this turn."""
    now: float = field(default_factory=time.time)
    borrowed: list[tuple[Any, Any]] = field(default_factory=list)
    """(pool, machine) pairs this turn took from machine pools; given back when it ends."""
    initial: dict[str, Any] = field(default_factory=dict)
    """Variables given by the caller for a workflow this turn starts."""
    last_vars: dict[str, Any] = field(default_factory=dict)
    """Variables of the last workflow run that ended in this turn."""
    before_side_effect: Callable[[], Awaitable[None]] | None = None
    """Set while the session has never been stored: stores it (its epoch) before the first side
    effect, so that a first turn retried after a crash repeats the same idempotency keys."""

    def names(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Names visible to expressions and templates: variables plus the context names."""
        m = self.message
        names = dict(variables)
        names.update(
            variables=variables,
            intent=m.intent,
            text=m.text,
            entities=m.entities,
            confidence=m.confidence,
            user_id=self.user_id,
            session_id=self.session_id,
            turn=self.turn,
        )
        return names


class Frame:
    """One workflow run: the model of its machine (``state`` + ``vars``)."""

    def __init__(
        self,
        workflow_id: str,
        version: str,
        variables: dict[str, Any] | None = None,
        *,
        run: str = "",
    ) -> None:
        self.workflow_id = workflow_id
        self.version = version
        self.vars: dict[str, Any] = variables if variables is not None else {}
        self.run = run
        """Identifies this run of the workflow (part of idempotency keys)."""
        self.state: Any = None
        self.rt: TurnContext | None = None
        self.waiting_for: str | None = None
        self.ended: str | None = None
        """``"completed"`` or ``"failed"`` once the run reached its end."""

    @property
    def turn(self) -> TurnContext:
        """The current turn context (set by the runtime around every ``send``)."""
        rt = self.rt
        if rt is None:  # pragma: no cover - the runtime always sets it
            raise RuntimeError("no turn in progress")
        return rt

    def __repr__(self) -> str:
        return f"Frame({self.workflow_id!r}, state={self.state!r})"
