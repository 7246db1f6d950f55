"""The Redis store: key layout, TTLs, the lock key, URL options, an unreachable server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from statechat import Bot
from statechat.errors import ConflictError, StoreError, UsageError
from statechat.stores.redis import RedisStore, mask
from tests.conftest import RedisServer, free_port
from tests.stores.helpers import FLOWS, BankClient

pytestmark = pytest.mark.redis


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Any]:
    """A plain redis-py client on the test server."""
    client = aioredis.Redis(host=redis_server.host, port=redis_server.port)
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    s = RedisStore(redis_server.url(prefix=f"t{uuid.uuid4().hex[:8]}"))
    await s.open()
    yield s
    await s.close()


async def test_snapshot_is_a_string_key_with_a_ttl(store: RedisStore, raw: Any) -> None:
    doc = {"format": 1, "session_id": "s1", "turn": 1, "stack": []}
    await store.save("s1", doc, expected_turn=None, ttl=300)
    key = f"{store.prefix}:session:s1"
    assert store.key("s1") == key
    assert orjson.loads(await raw.get(key)) == doc
    assert 0 < await raw.pttl(key) <= 300_000
    await store.save("s1", {**doc, "turn": 2}, expected_turn=1, ttl=None)
    assert await raw.pttl(key) == -1  # no TTL: kept until deleted


async def test_default_key_prefix(redis_server: RedisServer, raw: Any) -> None:
    store = RedisStore(redis_server.url())
    sid = f"default-{uuid.uuid4().hex}"
    try:
        await store.save(sid, {"turn": 1}, expected_turn=None, ttl=60)
        assert await raw.exists(f"statechat:session:{sid}") == 1
    finally:
        await store.delete(sid)
        await store.close()


async def test_lock_key_is_held_during_the_turn(store: RedisStore, raw: Any) -> None:
    store.lock_timeout = 5
    key = store.lock_key("s1")
    async with store.lock("s1"):
        owner = await raw.get(key)
        assert owner and owner.decode().startswith(f"{os.getpid()}-")
        assert 0 < await raw.pttl(key) <= 5000
    assert await raw.exists(key) == 0


async def test_a_replayed_save_is_not_a_conflict(store: RedisStore) -> None:
    # redis-py retries a command whose reply was lost; the save must not turn into a conflict
    await store.save("s1", {"turn": 1}, expected_turn=None)
    await store.save("s1", {"turn": 2, "v": "x"}, expected_turn=1)
    await store.save("s1", {"turn": 2, "v": "x"}, expected_turn=1)  # the same write again
    with pytest.raises(ConflictError):
        await store.save("s1", {"turn": 2, "v": "other"}, expected_turn=1)
    assert await store.load("s1") == {"turn": 2, "v": "x"}


async def test_an_unreadable_value_is_never_overwritten(store: RedisStore, raw: Any) -> None:
    await raw.set(store.key("s1"), b"not json")
    with pytest.raises(ConflictError, match="unreadable"):
        await store.save("s1", {"turn": 1}, expected_turn=None)
    assert await raw.get(store.key("s1")) == b"not json"


async def test_sessions_scans_past_one_batch(store: RedisStore, raw: Any) -> None:
    ids = [f"s{i:04d}" for i in range(1500)]
    async with raw.pipeline(transaction=False) as pipe:
        for sid in ids:
            pipe.set(store.key(sid), b'{"turn":1}', px=60_000)
        await pipe.execute()
    await raw.set(f"{store.prefix}:lock:s0001", b"x", px=60_000)  # not a session
    assert await store.sessions() == ids


def test_url_options() -> None:
    store = RedisStore(
        "redis://:s3cret@127.0.0.1:6390/2?lock_timeout=5&lock_wait=7&prefix=bot1&retries=0"
        "&socket_timeout=2"
    )
    assert (store.lock_timeout, store.lock_wait, store.prefix) == (5.0, 7.0, "bot1")
    assert store.url == "redis://:***@127.0.0.1:6390/2?lock_timeout=5&lock_wait=7&prefix=bot1" \
        "&retries=0&socket_timeout=2"
    assert "s3cret" not in repr(store.__dict__.get("url"))
    assert mask("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert mask("redis://h:1/0") == "redis://h:1/0"
    assert RedisStore("redis://h").lock_timeout == 30.0
    for bad in ("redis://h?lock_timeout=x", "redis://h?lock_timeout=-1", "redis://h?retries=-1",
                "http://h:1", "redis://h:port/0", "redis://h/0?socket_timeout=soon"):
        with pytest.raises(UsageError):
            RedisStore(bad)


async def test_redis_py_options_pass_through(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url(socket_timeout=2, lock_timeout=3))
    await store.open()
    try:
        client = store._client
        assert client is not None
        assert client.connection_pool.connection_kwargs["socket_timeout"] == 2.0
        await store.ping()
    finally:
        await store.close()


async def test_unreachable_server_is_a_store_error() -> None:
    store = RedisStore(f"redis://:pw@127.0.0.1:{free_port()}/0?retries=0")
    masked = r"redis store redis://:\*\*\*@127.0.0.1:\d+/0.* unavailable"
    with pytest.raises(StoreError, match=masked):
        await store.load("s1")
    with pytest.raises(StoreError):
        await store.save("s1", {"turn": 1}, expected_turn=None)
    with pytest.raises(StoreError):
        async with store.lock("s1"):
            pass
    with pytest.raises(StoreError):
        await store.ping()
    await store.close()


async def test_bot_on_an_unreachable_redis_raises_store_error(bank: BankClient) -> None:
    bot = Bot.from_path(FLOWS, store=f"redis://127.0.0.1:{free_port()}/0?retries=0")
    try:
        assert isinstance(bot.store, RedisStore)
        with pytest.raises(StoreError, match="unavailable"):
            await bot.handle_message("s1", "u1", "transfer 10")
    finally:
        await bot.close()
