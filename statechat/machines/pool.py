"""Reusable machine instances: a turn borrows one, points it at the session's frame, returns it.

Instantiating a python-statemachine class resolves every callback of every state and transition
(cost linear in the class size, the dominant per-turn cost in the notes' measurements). A workflow
machine keeps no session data of its own: configuration lives on the model (the frame), history
in ``history_values``, and our callbacks are plain functions. So an idle instance can be re-bound
to another frame instead of building a new one; the pool keeps a few idle instances per class.
"""

from __future__ import annotations

from typing import Any

from statemachine import StateChart

#: Idle instances kept per class (beyond that, returned instances are dropped).
POOL_SIZE = 64


class MachinePool:
    """Idle instances of one workflow class."""

    def __init__(self, cls: type[StateChart[Any]], size: int = POOL_SIZE) -> None:
        self.cls = cls
        self.size = size
        self._idle: list[StateChart[Any]] = []

    def acquire(self, model: Any) -> StateChart[Any]:
        """An instance bound to ``model``; its ``state`` is the configuration to run from.

        With ``model.state`` unset, the caller activates the initial state as for a new instance.
        """
        if not self._idle:
            return self.cls(model=model)
        sm = self._idle.pop()
        engine = sm._engine
        sm.model = model
        config = sm._config
        config._model = model
        config._invalidate()  # type: ignore[no-untyped-call]
        sm.history_values = {}
        engine.running = True
        if model.state is None:
            engine.start()
        return sm

    def release(self, sm: StateChart[Any]) -> None:
        """Give an instance back (only if it is idle: no pending events)."""
        engine = sm._engine
        if (
            len(self._idle) < self.size
            and not engine._processing.locked()
            and engine.external_queue.is_empty()
            and engine.internal_queue.is_empty()
        ):
            self._idle.append(sm)
