"""The session store interface: one JSON snapshot per session, compare-and-set on the turn."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

#: What :meth:`Store.load_if_changed` returns when the stored turn is the one the caller knows.
UNCHANGED: Any = type("Unchanged", (), {"__repr__": lambda self: "UNCHANGED"})()


class Store(abc.ABC):
    """Where sessions live between turns.

    A snapshot is a JSON-ready dict with an integer ``turn``. ``save`` is compare-and-set: it
    succeeds only if the stored snapshot's turn equals ``expected_turn`` (``None``: no snapshot
    stored yet) and raises :class:`~statechat.errors.ConflictError` otherwise. ``lock`` serializes
    the turns of one session (in-process here; stores shared by several processes lock across them).
    """

    url: str = ""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Connect (called by the bot before the first turn)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Disconnect and release resources."""

    @abc.abstractmethod
    async def load(self, session_id: str) -> dict[str, Any] | None:
        """The session's snapshot, or ``None``."""

    async def load_if_changed(self, session_id: str, known_turn: int) -> Any:
        """``UNCHANGED`` if the stored snapshot is at ``known_turn``, else what ``load`` gives.

        Lets a process that cached a session skip decoding it; stores override this with a
        cheaper check of the stored turn.
        """
        snap = await self.load(session_id)
        if snap is not None and snap.get("turn") == known_turn:
            return UNCHANGED
        return snap

    @abc.abstractmethod
    async def save(
        self,
        session_id: str,
        snapshot: dict[str, Any],
        *,
        expected_turn: int | None,
        ttl: float | None = None,
    ) -> None:
        """Store atomically if the stored turn is ``expected_turn``; ``ttl`` seconds to live."""

    @abc.abstractmethod
    async def delete(self, session_id: str) -> None:
        """Forget a session."""

    @abc.abstractmethod
    async def sessions(self) -> list[str]:
        """Ids of the stored sessions."""

    @contextlib.asynccontextmanager
    async def lock(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session's in-process lock for one turn (FIFO among waiters)."""
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        self._waiters[session_id] = self._waiters.get(session_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            n = self._waiters[session_id] - 1
            if n:
                self._waiters[session_id] = n
            else:  # nobody else wants it: drop the lock so idle sessions cost nothing
                del self._waiters[session_id]
                self._locks.pop(session_id, None)
