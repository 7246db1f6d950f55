"""``redis://host:port/db``: the shared store for several bot processes (redis-py asyncio).

Each session is one string key ``statechat:session:{session_id}`` holding the JSON snapshot, with
the session's time to live (``PX``). A save is a Lua script (atomic on the server): it compares
the stored snapshot's turn with the expected one and then sets the new snapshot with its TTL.
:meth:`RedisStore.lock` holds the in-process lock plus a Redis lock ``statechat:lock:{session_id}``
(``SET NX PX`` with a random token; token-checked renewal and release in Lua) that expires on its
own when a process dies holding it.

URL: ``redis://[[user]:password@]host[:port][/db][?option=value...]`` (``rediss://`` for TLS).
statechat's options: ``lock_timeout`` (seconds, default 30), ``lock_wait`` (seconds to wait for a
session locked by another process, default twice ``lock_timeout``), ``prefix`` (key prefix,
default ``statechat``), ``retries`` (reconnect attempts per command, default 3). Any other query
option goes to redis-py (e.g. ``socket_timeout``, ``socket_connect_timeout``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from statechat.errors import ConflictError, StoreError, UsageError
from statechat.stores import codec
from statechat.stores.lease import DEFAULT_LOCK_TIMEOUT, NO_PEEK, LeasedStore, split_options

DEFAULT_PREFIX = "statechat"
DEFAULT_RETRIES = 3
DEFAULT_SOCKET_TIMEOUT = 5.0

_OPTIONS: dict[str, type] = {
    "lock_timeout": float,
    "lock_wait": float,
    "prefix": str,
    "retries": int,
}

# KEYS[1] snapshot key; ARGV: new snapshot, expected turn ('' = none stored), PX ms ('' = no TTL).
# Returns {1, turn} when written, {0, stored turn or -1} on a conflict.
_SAVE = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  return {1, -1}
end
local stored = -1
if cur then
  local ok, doc = pcall(cjson.decode, cur)
  if ok and type(doc) == 'table' and type(doc['turn']) == 'number' then
    stored = doc['turn']
  else
    stored = -2
  end
end
local expected = -1
if ARGV[2] ~= '' then expected = tonumber(ARGV[2]) end
if stored ~= expected then
  return {0, stored}
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
end
return {1, stored}
"""

# KEYS[1] lock key, KEYS[2] snapshot key; ARGV: token, PX ms. Taken when free, or already ours
# (a retried command); then returns {1, snapshot} so that the turn's load needs no round trip.
_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  return {0, false}
end
return {1, redis.call('GET', KEYS[2])}
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_PASSWORD_RE = re.compile(r"^(\w+://[^:/@]*:)[^@]*@")


def mask(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and messages)."""
    return _PASSWORD_RE.sub(r"\1***@", url)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisStore(LeasedStore):
    """Sessions in Redis, shared by every bot process that uses the same server and prefix."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        lock_timeout: float | None = None,
        lock_wait: float | None = None,
        prefix: str | None = None,
        retries: int | None = None,
        **redis_options: Any,
    ) -> None:
        client_url, options = split_options(url, _OPTIONS)
        if not client_url.startswith(("redis://", "rediss://")):
            raise UsageError(
                f"bad redis store URL {mask(url)!r}: use redis://host:port/db", code="bad_store"
            )
        super().__init__(
            lock_timeout=lock_timeout or options.get("lock_timeout", DEFAULT_LOCK_TIMEOUT),
            lock_wait=lock_wait if lock_wait is not None else options.get("lock_wait"),
        )
        self.url = mask(url)
        self.prefix = prefix if prefix is not None else options.get("prefix", DEFAULT_PREFIX)
        """Every key of this store starts with ``{prefix}:``."""
        n = retries if retries is not None else options.get("retries", DEFAULT_RETRIES)
        if n < 0:
            raise UsageError("retries must be at least 0", code="bad_store")
        try:  # a bad URL is a usage error now, not at the first turn
            parse_url(client_url)
        except ValueError as exc:
            raise UsageError(f"bad redis store URL {self.url!r}: {exc}", code="bad_store") from exc
        self._client_url = client_url
        self._client_options: dict[str, Any] = {
            "socket_timeout": DEFAULT_SOCKET_TIMEOUT,
            "socket_connect_timeout": DEFAULT_SOCKET_TIMEOUT,
            "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.25), n),
            **redis_options,
        }
        self._client: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}

    # ------------------------------------------------------------------ connection

    async def open(self) -> None:
        """Create the client (connections are made on first use)."""
        if self._client is not None:
            return
        try:
            client = aioredis.Redis.from_url(self._client_url, **self._client_options)
        except (ValueError, RedisError) as exc:
            raise UsageError(f"bad redis store URL {self.url!r}: {exc}", code="bad_store") from exc
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("save", _SAVE),
                ("acquire", _ACQUIRE),
                ("renew", _RENEW),
                ("release", _RELEASE),
            )
        }
        self._client = client

    async def close(self) -> None:
        """Close the client's connections."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    async def _redis(self) -> aioredis.Redis:
        if self._client is None:
            await self.open()
        assert self._client is not None
        return self._client

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except RedisError as exc:
            raise StoreError(
                f"redis store {self.url} unavailable ({what}): {type(exc).__name__}: {exc}"
            ) from exc
        except OSError as exc:
            raise StoreError(f"redis store {self.url} unavailable ({what}): {exc}") from exc

    def key(self, session_id: str) -> str:
        """The key of a session's snapshot."""
        return f"{self.prefix}:session:{session_id}"

    def lock_key(self, session_id: str) -> str:
        """The key of a session's cross-process lock."""
        return f"{self.prefix}:lock:{session_id}"

    async def ping(self) -> None:
        """Check that the server answers.

        Raises:
            StoreError: it does not.
        """
        client = await self._redis()
        with self._errors("ping"):
            await client.ping()

    # ------------------------------------------------------------------ snapshots

    async def load(self, session_id: str) -> dict[str, Any] | None:
        """The stored snapshot (an expired key is gone)."""
        data = self._take_peek(session_id)
        if data is NO_PEEK:  # else: read with the lock a moment ago
            client = await self._redis()
            with self._errors("load"):
                data = await client.get(self.key(session_id))
        return codec.loads(data) if data is not None else None

    async def save(
        self,
        session_id: str,
        snapshot: dict[str, Any],
        *,
        expected_turn: int | None,
        ttl: float | None = None,
    ) -> None:
        """Compare-and-set on the turn (one Lua script), with ``ttl`` as the key's ``PX``.

        Raises:
            ConflictError: the stored turn is not ``expected_turn`` (nothing was written).
            StoreError: Redis is unreachable.
        """
        self._drop_peek(session_id)
        client = await self._redis()
        args = [
            codec.dumps(snapshot),
            "" if expected_turn is None else str(int(expected_turn)),
            str(_ms(ttl)) if ttl else "",
        ]
        with self._errors("save"):
            written, stored = await self._scripts["save"](
                keys=[self.key(session_id)], args=args, client=client
            )
        if not written:
            where = {-1: "has no snapshot", -2: "holds an unreadable snapshot"}.get(
                int(stored), f"is at turn {stored}"
            )
            raise ConflictError(
                f"session {session_id!r} {where}, not turn {expected_turn}: "
                "another writer got there first"
            )

    async def delete(self, session_id: str) -> None:
        """Forget a session."""
        self._drop_peek(session_id)
        client = await self._redis()
        with self._errors("delete"):
            await client.delete(self.key(session_id))

    async def sessions(self) -> list[str]:
        """Ids of the stored sessions (``SCAN``; sorted)."""
        client = await self._redis()
        head = f"{self.prefix}:session:"
        pattern = _glob_escape(head) + "*"
        found: set[str] = set()
        with self._errors("scan"):
            async for key in client.scan_iter(match=pattern, count=1000):
                name = key.decode() if isinstance(key, bytes) else str(key)
                found.add(name[len(head):])
        return sorted(found)

    # ------------------------------------------------------------------ leases

    async def _acquire_lease(self, session_id: str, token: str, ttl: float) -> bool:
        client = await self._redis()
        with self._errors("lock"):
            taken, data = await self._scripts["acquire"](
                keys=[self.lock_key(session_id), self.key(session_id)],
                args=[token, _ms(ttl)],
                client=client,
            )
        if taken:
            self._keep_peek(session_id, data)
        return bool(taken)

    async def _renew_lease(self, session_id: str, token: str, ttl: float) -> bool:
        client = await self._redis()
        with self._errors("renew lock"):
            renewed = await self._scripts["renew"](
                keys=[self.lock_key(session_id)], args=[token, _ms(ttl)], client=client
            )
        return bool(renewed)

    async def _release_lease(self, session_id: str, token: str) -> None:
        client = await self._redis()
        with self._errors("unlock"):
            await self._scripts["release"](
                keys=[self.lock_key(session_id)], args=[token], client=client
            )


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
