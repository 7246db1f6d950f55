"""The execution context handed to actions, validators and auth providers (the seed's shape)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ExecutionContext:
    """A session's view for plugin code: ids, variables, history and the bot's integrations.

    ``variables`` is the live dict of the session's variables; ``set_variable`` writes to it.
    ``step_history`` lists the steps entered so far (``{"step", "event", "time", "outcome"}``).
    """

    def __init__(
        self,
        session_id: str,
        user_id: str,
        variables: dict[str, Any] | None = None,
        step_history: list[dict[str, Any]] | None = None,
        *,
        workflow_id: str | None = None,
        integrations: Mapping[str, Any] | None = None,
        turn: int = 0,
        transitions: Sequence[Any] = (),
    ) -> None:
        self.session_id = session_id
        self.user_id = user_id
        self.variables: dict[str, Any] = variables if variables is not None else {}
        self._step_history = step_history
        self._transitions: Sequence[Any] = transitions
        self.workflow_id = workflow_id
        self.turn = turn
        self._integrations: Mapping[str, Any] = integrations or {}

    @property
    def step_history(self) -> list[dict[str, Any]]:
        """The steps entered in this turn so far, oldest first (built when first read)."""
        if self._step_history is None:
            self._step_history = [t.as_dict() for t in self._transitions]
        return self._step_history

    def get_variable(self, name: str, default: Any = None) -> Any:
        """A session variable, or ``default``."""
        return self.variables.get(name, default)

    def set_variable(self, name: str, value: Any) -> None:
        """Set a session variable."""
        self.variables[name] = value

    def integration(self, name: str) -> Any:
        """The named integration (configured HTTP or plugin-provided).

        Raises:
            KeyError: no integration of that name.
        """
        return self._integrations[name]

    def __repr__(self) -> str:
        return f"ExecutionContext(session_id={self.session_id!r}, user_id={self.user_id!r})"
