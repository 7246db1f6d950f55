"""What a turn returns to the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TurnResult:
    """The outcome of one message (or webhook event) in one session."""

    session_id: str
    responses: list[str] = field(default_factory=list)
    """Replies of this turn, in order."""
    state: str | None = None
    """``workflow_id.step_id`` where the active workflow waits (``None`` when idle)."""
    waiting_for: str | None = None
    """The slot or input being waited for, or ``None``."""
    completed: bool = False
    """The workflow that was active in this turn ended."""
    variables: dict[str, Any] = field(default_factory=dict)
    """Variables of the active (or just completed) workflow run."""
    workflow_id: str | None = None
    """The active workflow after the turn (``None`` when idle)."""
    turn: int = 0
    intent: str | None = None

    @property
    def response(self) -> str:
        """All replies joined by newlines (the seed's single ``response`` string)."""
        return "\n".join(self.responses)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (HTTP and websocket responses)."""
        return {
            "session_id": self.session_id,
            "responses": list(self.responses),
            "response": self.response,
            "state": self.state,
            "waiting_for": self.waiting_for,
            "completed": self.completed,
            "variables": self.variables,
            "workflow_id": self.workflow_id,
            "turn": self.turn,
            "intent": self.intent,
        }
