"""Cross-process session locks for shared stores: an in-process lock plus a lease in the store.

A lease is a row or key naming its owner (a random token per acquisition) with an expiry time.
Acquiring waits with bounded, jittered exponential backoff; a lease left behind by a crashed
process expires after ``lock_timeout`` seconds; a turn that runs longer than a third of that
renews its lease (token-checked) until it ends; release is token-checked, so a process never
frees a lease another process took over. The compare-and-set on the turn number stays the
safety net: even a turn that lost its lease cannot overwrite a newer snapshot.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import os
import random
import secrets
from collections.abc import AsyncIterator, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from statechat.errors import StoreError, UsageError
from statechat.stores.base import Store

log = logging.getLogger("statechat.stores")

#: Seconds a lease lives unless renewed (``?lock_timeout=`` in the store URL).
DEFAULT_LOCK_TIMEOUT = 30.0
#: First and longest pause between two attempts to take a lease held by another process.
FIRST_BACKOFF = 0.002
MAX_BACKOFF = 0.05


#: What :meth:`LeasedStore._take_peek` returns when there is nothing to take.
NO_PEEK: Any = type("NoPeek", (), {"__repr__": lambda self: "NO_PEEK"})()


def new_token() -> str:
    """A lease owner token: this process id and 64 random bits."""
    return f"{os.getpid()}-{secrets.token_hex(8)}"


def split_options(url: str, known: dict[str, type]) -> tuple[str, dict[str, Any]]:
    """Take statechat's own query options out of a store URL.

    Returns the URL without them and the options converted to their types; other query options
    are left in the URL (for the client library).

    Raises:
        UsageError: an option of ours has a bad value.
    """
    base, sep, query = url.partition("?")
    if not sep:
        return url, {}
    keep: list[str] = []
    options: dict[str, Any] = {}
    for raw in query.split("&"):
        pairs = parse_qsl(raw, keep_blank_values=True)
        if not pairs:
            continue
        name, value = pairs[0]
        if name not in known:
            keep.append(raw)
            continue
        kind = known[name]
        try:
            options[name] = kind(value)
        except ValueError:
            raise UsageError(
                f"store option {name}={value!r} must be a {kind.__name__}", code="bad_store"
            ) from None
    rest = "&".join(keep)
    return base + ("?" + rest if rest else ""), options


class LeasedStore(Store):
    """A store whose :meth:`lock` also holds a lease that other processes respect."""

    def __init__(
        self, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, lock_wait: float | None = None
    ) -> None:
        super().__init__()
        if lock_timeout <= 0:
            raise UsageError("lock_timeout must be greater than 0 seconds", code="bad_store")
        if lock_wait is not None and lock_wait < 0:
            raise UsageError("lock_wait must be at least 0 seconds", code="bad_store")
        self.lock_timeout = float(lock_timeout)
        """Seconds a lease lives without renewal (how long a crashed process blocks a session)."""
        self.lock_wait = float(lock_wait) if lock_wait is not None else 2 * self.lock_timeout
        """Seconds :meth:`lock` waits for another process's lease before giving up."""
        self._peeks: dict[str, tuple[asyncio.Task[Any] | None, Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # A store may read the session's stored snapshot in the same round trip that takes its lease
    # (the turn loads it next). The peek belongs to the task holding the lock and is dropped by
    # its first load, by any save of the session, and when the lock is released.

    def _keep_peek(self, session_id: str, raw: Any) -> None:
        """Remember what the lease holder's next load will return (raw, store-specific)."""
        self._peeks[session_id] = (asyncio.current_task(), raw)

    def _take_peek(self, session_id: str) -> Any:
        """The raw peeked value for the current task (``NO_PEEK`` if none); forgets it."""
        item = self._peeks.get(session_id)
        if item is None or item[0] is not asyncio.current_task():
            return NO_PEEK
        del self._peeks[session_id]
        return item[1]

    def _drop_peek(self, session_id: str) -> None:
        self._peeks.pop(session_id, None)

    @abc.abstractmethod
    async def _acquire_lease(self, session_id: str, token: str, ttl: float) -> bool:
        """Take the lease if it is free, expired or already ``token``'s; whether it was taken."""

    @abc.abstractmethod
    async def _renew_lease(self, session_id: str, token: str, ttl: float) -> bool:
        """Extend the lease if ``token`` still holds it; whether it did."""

    @abc.abstractmethod
    async def _release_lease(self, session_id: str, token: str) -> None:
        """Drop the lease if ``token`` still holds it."""

    @contextlib.asynccontextmanager
    async def lock(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session for one turn against this process and every other one.

        Raises:
            StoreError: another process held the session for longer than ``lock_wait`` seconds,
                or the store is unreachable.
        """
        async with super().lock(session_id):
            token = new_token()
            loop = asyncio.get_running_loop()
            try:
                await self._wait_for_lease(session_id, token)
            except BaseException:  # e.g. cancelled while an attempt was in flight: it may
                self._drop_peek(session_id)  # have succeeded, so give the lease back anyway
                self._background(self._release_quietly(session_id, token))
                raise
            stop = asyncio.Event()
            timer = loop.call_later(
                self.lock_timeout / 3, self._start_renewing, session_id, token, stop
            )
            try:
                yield
            finally:
                self._drop_peek(session_id)
                timer.cancel()
                stop.set()  # a renewal in flight is token-checked: harmless after the release
                await self._release_quietly(session_id, token)

    async def _release_quietly(self, session_id: str, token: str) -> None:
        try:
            await self._release_lease(session_id, token)
        except Exception as exc:  # it expires on its own
            log.warning("could not release the lock of session %s: %s", session_id, exc)

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # (a reference until it ends)
        task.add_done_callback(self._tasks.discard)

    def _start_renewing(self, session_id: str, token: str, stop: asyncio.Event) -> None:
        self._background(self._keep_renewing(session_id, token, stop))

    async def _wait_for_lease(self, session_id: str, token: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait
        delay = FIRST_BACKOFF
        longest = min(MAX_BACKOFF, self.lock_timeout / 10)
        while not await self._acquire_lease(session_id, token, self.lock_timeout):
            if loop.time() >= deadline:
                raise StoreError(
                    f"session {session_id!r} is locked by another process "
                    f"(waited {self.lock_wait:g}s for its turn to end)"
                )
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, longest)

    async def _keep_renewing(self, session_id: str, token: str, stop: asyncio.Event) -> None:
        """Extend the lease every third of its lifetime until ``stop`` is set (turn over)."""
        period = self.lock_timeout / 3
        while not stop.is_set():
            try:
                renewed = await self._renew_lease(session_id, token, self.lock_timeout)
            except Exception as exc:  # the store may be back before the lease runs out
                log.warning("could not renew the lock of session %s: %s", session_id, exc)
            else:
                if not renewed and not stop.is_set():
                    log.warning(
                        "the lock of session %s expired during a long turn; another process "
                        "may take over (this turn's save then fails with a conflict)",
                        session_id,
                    )
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), period)
