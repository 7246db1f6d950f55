"""``memory://``: sessions in this process only (tests, benchmarks, single-process demos)."""

from __future__ import annotations

import time
from typing import Any

from statechat.errors import ConflictError
from statechat.stores import codec
from statechat.stores.base import UNCHANGED, Store


class MemoryStore(Store):
    """Keeps each snapshot encoded as JSON, exactly as a persistent store would."""

    def __init__(self, url: str = "memory://") -> None:
        super().__init__()
        self.url = url
        self._data: dict[str, tuple[int, bytes, float | None]] = {}

    async def load(self, session_id: str) -> dict[str, Any] | None:
        """The stored snapshot (expired ones are gone)."""
        item = self._data.get(session_id)
        if item is None:
            return None
        if item[2] is not None and item[2] < time.time():
            del self._data[session_id]
            return None
        return codec.loads(item[1])

    async def load_if_changed(self, session_id: str, known_turn: int) -> Any:
        """Compare the stored turn without decoding the snapshot."""
        item = self._data.get(session_id)
        if item is not None and item[0] == known_turn and (item[2] is None or item[2] >= time.time()):
            return UNCHANGED
        return await self.load(session_id)

    async def save(
        self,
        session_id: str,
        snapshot: dict[str, Any],
        *,
        expected_turn: int | None,
        ttl: float | None = None,
    ) -> None:
        """Compare-and-set on the turn number."""
        current = self._data.get(session_id)
        stored = current[0] if current is not None else None
        if stored != expected_turn:
            raise ConflictError(
                f"session {session_id!r} is at turn {stored}, not {expected_turn}: "
                "another writer got there first"
            )
        data = codec.dumps(snapshot)
        self._data[session_id] = (int(snapshot["turn"]), data, time.time() + ttl if ttl else None)

    async def delete(self, session_id: str) -> None:
        """Forget a session."""
        self._data.pop(session_id, None)

    async def sessions(self) -> list[str]:
        """Ids of the stored sessions."""
        return sorted(self._data)

    def size(self, session_id: str) -> int:
        """Bytes of a session's stored snapshot (0 if none)."""
        item = self._data.get(session_id)
        return len(item[1]) if item else 0
