"""The store contract, for every store: memory, SQLite (a file) and Redis (a real server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from statechat.errors import ConflictError, StoreError
from statechat.plugins.manager import get_plugin_manager
from statechat.stores import Store, open_store
from statechat.stores.base import UNCHANGED
from statechat.stores.lease import LeasedStore
from tests.stores.helpers import SHARED_KINDS, eventually, store_url_for

StoreFactory = Callable[..., Store]


@pytest.fixture
async def make_store(store_url: str) -> AsyncIterator[StoreFactory]:
    """Open stores on the test's URL (all closed afterwards)."""
    registry = get_plugin_manager([], entry_points=False).registry
    opened: list[Store] = []

    def make(url: str | None = None) -> Store:
        store = open_store(url or store_url, registry)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def store(make_store: StoreFactory) -> Store:
    s = make_store()
    await s.open()
    return s


def snap(turn: int, **extra: Any) -> dict[str, Any]:
    return {"format": 1, "session_id": "s", "turn": turn, **extra}


async def test_load_missing_is_none(store: Store) -> None:
    assert await store.load("nobody") is None
    assert await store.load_if_changed("nobody", 3) is None


async def test_save_load_roundtrip(store: Store) -> None:
    doc = snap(
        1,
        stack=[{"workflow": "w", "configuration": ["w", "w__ask"], "vars": {"amount": 12.5}}],
        history=[[1, 1.5, "w", "ask", "__initial__", "w", None]],
        text="naïve ☃ \"quoted\" \n newline",
        nested={"a": [1, 2, {"b": None, "c": True}]},
    )
    await store.save("s1", doc, expected_turn=None, ttl=60)
    assert await store.load("s1") == doc
    assert await store.load_if_changed("s1", 1) is UNCHANGED
    assert await store.load_if_changed("s1", 0) == doc
    # the loaded dict is a copy: changing it does not change the store
    loaded = await store.load("s1")
    assert loaded is not None
    loaded["turn"] = 99
    assert (await store.load("s1")) == doc


async def test_cas_first_save_conflicts_when_a_snapshot_exists(store: Store) -> None:
    await store.save("s1", snap(1, v="first"), expected_turn=None)
    with pytest.raises(ConflictError):
        await store.save("s1", snap(1, v="second"), expected_turn=None)
    assert (await store.load("s1")) == snap(1, v="first")


async def test_cas_wrong_expected_turn_conflicts_and_overwrites_nothing(store: Store) -> None:
    await store.save("s1", snap(1), expected_turn=None)
    await store.save("s1", snap(2, v="two"), expected_turn=1, ttl=60)
    for wrong in (1, 3, 0):
        with pytest.raises(ConflictError, match="another writer"):
            await store.save("s1", snap(wrong + 1, v="lost"), expected_turn=wrong)
    assert await store.load("s1") == snap(2, v="two")
    await store.save("s1", snap(3, v="three"), expected_turn=2)
    assert await store.load("s1") == snap(3, v="three")


async def test_cas_expected_turn_on_missing_session_conflicts(store: Store) -> None:
    with pytest.raises(ConflictError):
        await store.save("ghost", snap(5), expected_turn=4)
    assert await store.load("ghost") is None
    assert "ghost" not in await store.sessions()


async def test_ttl_expiry(store: Store) -> None:
    await store.save("short", snap(1), expected_turn=None, ttl=0.05)
    await store.save("long", snap(1), expected_turn=None, ttl=600)
    await store.save("forever", snap(1), expected_turn=None, ttl=None)

    async def gone() -> bool:
        return await store.load("short") is None

    await eventually(gone)
    assert await store.load_if_changed("short", 1) is None
    assert await store.load("long") == snap(1)
    assert await store.load("forever") == snap(1)
    assert await store.sessions() == ["forever", "long"]
    # an expired session is a new one: the first save of a new conversation succeeds
    with pytest.raises(ConflictError):
        await store.save("short", snap(2), expected_turn=1)
    await store.save("short", snap(1, v="new"), expected_turn=None, ttl=600)
    assert await store.load("short") == snap(1, v="new")


async def test_delete(store: Store) -> None:
    await store.save("s1", snap(4), expected_turn=None)
    await store.save("s2", snap(1), expected_turn=None)
    await store.delete("s1")
    await store.delete("never-there")
    assert await store.load("s1") is None
    assert await store.sessions() == ["s2"]
    await store.save("s1", snap(1), expected_turn=None)  # starts over
    assert await store.load("s1") == snap(1)


async def test_sessions_lists_every_id(store: Store) -> None:
    ids = ["b", "a", "with:colon", "star*and?[x]", "ünïcødé", "x" * 200]
    for sid in ids:
        await store.save(sid, snap(1), expected_turn=None, ttl=600)
    assert await store.sessions() == sorted(ids)
    for sid in ids:
        assert await store.load(sid) == snap(1)


async def test_lock_serializes_turns(store: Store) -> None:
    inside = 0
    most = 0

    async def turn() -> None:
        nonlocal inside, most
        async with store.lock("s1"):
            inside += 1
            most = max(most, inside)
            current = await store.load("s1")
            await asyncio.sleep(0)  # let the others try to get in
            turn_no = current["turn"] if current else 0
            await store.save(
                "s1", snap(turn_no + 1), expected_turn=turn_no if current else None, ttl=60
            )
            inside -= 1

    await asyncio.gather(*(turn() for _ in range(50)))
    assert most == 1
    assert (await store.load("s1")) == snap(50)


async def test_lock_is_per_session_and_freed_after_errors(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.lock("s1"):
            raise RuntimeError("turn failed")
    async with store.lock("s1"), store.lock("s2"):  # other sessions do not wait
        pass
    async with store.lock("s1"):  # freed
        pass


# --------------------------------------------------------------------------- shared stores


@pytest.fixture
async def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[LeasedStore, LeasedStore]]:
    """Two store objects on one SQLite file / one Redis (as two processes would have)."""
    url = store_url_for(request.param, request, tmp_path, lock_timeout=1)
    registry = get_plugin_manager([], entry_points=False).registry
    a, b = open_store(url, registry), open_store(url, registry)
    assert isinstance(a, LeasedStore) and isinstance(b, LeasedStore)
    await a.open()
    await b.open()
    yield a, b
    await a.close()
    await b.close()


shared = pytest.mark.parametrize("two_stores", SHARED_KINDS, indirect=True)


@shared
async def test_two_store_objects_serialize_one_session(
    two_stores: tuple[LeasedStore, LeasedStore],
) -> None:
    inside = 0
    most = 0

    async def turn(store: Store) -> None:
        nonlocal inside, most
        async with store.lock("s1"):
            inside += 1
            most = max(most, inside)
            current = await store.load("s1")
            for _ in range(3):
                await asyncio.sleep(0)
            n = current["turn"] if current else 0
            await store.save("s1", snap(n + 1), expected_turn=n if current else None)
            inside -= 1

    a, b = two_stores
    await asyncio.gather(*(turn(a if i % 2 else b) for i in range(40)))
    assert most == 1
    assert await a.load("s1") == snap(40)
    assert await b.load("s1") == snap(40)


@shared
async def test_lease_of_a_crashed_holder_expires(
    two_stores: tuple[LeasedStore, LeasedStore],
) -> None:
    a, b = two_stores
    assert await a._acquire_lease("s1", "crashed-process", 1.0)
    assert not await b._acquire_lease("s1", "someone-else", 1.0)
    async with b.lock("s1"):  # waits (polling with backoff) until the dead lease expires
        assert not await a._acquire_lease("s1", "crashed-process", 1.0)


@shared
async def test_waiting_for_a_lease_is_bounded(two_stores: tuple[LeasedStore, LeasedStore]) -> None:
    a, b = two_stores
    b.lock_wait = 0.2
    assert await a._acquire_lease("s1", "holder", 30.0)
    with pytest.raises(StoreError, match="locked by another process"):
        async with b.lock("s1"):
            pass
    await a._release_lease("s1", "holder")
    b.lock_wait = 10
    async with b.lock("s1"):
        pass


@shared
async def test_release_is_token_checked(two_stores: tuple[LeasedStore, LeasedStore]) -> None:
    a, b = two_stores
    assert await a._acquire_lease("s1", "slow", 0.05)

    async def taken_over() -> bool:
        return await b._acquire_lease("s1", "new-owner", 30.0)

    await eventually(taken_over)
    await a._release_lease("s1", "slow")  # the slow one's late release frees nothing
    assert not await a._acquire_lease("s1", "third", 30.0)
    assert not await a._renew_lease("s1", "slow", 30.0)
    await b._release_lease("s1", "new-owner")  # (SQLite: queued, done a moment later)

    async def free() -> bool:
        return await a._acquire_lease("s1", "third", 30.0)

    await eventually(free)


@shared
async def test_a_long_turn_keeps_its_lease(two_stores: tuple[LeasedStore, LeasedStore]) -> None:
    a, b = two_stores
    a.lock_timeout = 0.9  # renewed every 0.3 s while held
    async with a.lock("s1"):
        await asyncio.sleep(1.5)  # a slow turn, longer than the lease's lifetime
        assert not await b._acquire_lease("s1", "intruder", 30.0)

    async def free() -> bool:
        return await b._acquire_lease("s1", "next", 30.0)

    await eventually(free)


@shared
async def test_a_cancelled_wait_leaves_no_lease(
    two_stores: tuple[LeasedStore, LeasedStore],
) -> None:
    a, b = two_stores
    assert await a._acquire_lease("s1", "holder", 30.0)
    entered = False

    async def turn() -> None:
        nonlocal entered
        async with b.lock("s1"):
            entered = True

    waiting = asyncio.create_task(turn())
    assert not await a._acquire_lease("s1", "probe", 30.0)
    for _ in range(20):  # let it poll a few times
        await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not entered
    await a._release_lease("s1", "holder")

    async def free() -> bool:
        return await a._acquire_lease("s1", "next", 30.0)

    await eventually(free)
