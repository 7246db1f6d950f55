"""Redis dies in the middle of turns: those turns fail cleanly; after a restart nothing is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from statechat import Bot, TurnResult
from statechat.errors import StoreError
from tests.conftest import RedisServer
from tests.stores.helpers import SCRIPT, BankClient

pytestmark = [pytest.mark.slow, pytest.mark.redis]


async def test_redis_stopped_mid_load_then_restarted(
    redis_factory: Callable[..., RedisServer],
    bank: BankClient,
    make_bot: Callable[..., Bot],
) -> None:
    server = redis_factory(persistent=True)  # AOF, fsync always: acknowledged writes survive
    bot = make_bot(server.url(lock_timeout=1, retries=1))
    sessions = [f"o{i}" for i in range(6)]
    for text in SCRIPT[:2]:
        await asyncio.gather(*(bot.handle_message(s, "u1", text) for s in sessions))
    before = {s: await bot.store.load(s) for s in sessions}
    assert all(snap is not None and snap["turn"] == 2 for snap in before.values())

    # three of the next turns are slow (the bank answers after a second), so they are in the
    # middle of their turn when Redis is killed; the other three finish first
    await bank.fault("timeout", after=True, path="/accounts", delay=1.0, count=3)
    tasks = [asyncio.create_task(bot.handle_message(s, "u1", SCRIPT[2])) for s in sessions]
    deadline = time.monotonic() + 30
    while sum(t.done() for t in tasks) < 3:
        assert time.monotonic() < deadline, "the fast turns did not finish"
        await asyncio.sleep(0.01)
    server.stop()  # kill -9
    results: list[Any] = await asyncio.gather(*tasks, return_exceptions=True)
    done = {s for s, r in zip(sessions, results, strict=True) if isinstance(r, TurnResult)}
    failed = {s for s, r in zip(sessions, results, strict=True) if isinstance(r, BaseException)}
    assert len(done) >= 3 and len(failed) >= 1, results
    for r in results:
        assert isinstance(r, TurnResult | StoreError), repr(r)
    for s in done:
        assert results[sessions.index(s)].responses == ["Which account should receive the money?"]

    # while Redis is down every turn fails with StoreError (the HTTP layer answers 503)
    with pytest.raises(StoreError, match="redis store .* unavailable"):
        await bot.handle_message(sessions[0], "u1", "A2")
    with pytest.raises(StoreError):
        await bot.get_session(sessions[0])

    await asyncio.to_thread(server.start)  # same port, same data directory
    assert await bot.store.sessions() == sorted(sessions)  # no session lost
    for s in sessions:
        snap = await bot.store.load(s)
        assert snap is not None
        if s in done:
            assert snap["turn"] == 3
        else:  # no partial write: exactly the snapshot from before the failed turn
            assert snap == before[s]

    # the failed turns are sent again, and every conversation completes
    retried = await asyncio.gather(*(bot.handle_message(s, "u1", SCRIPT[2]) for s in failed))
    assert all(r.responses == ["Which account should receive the money?"] for r in retried)
    for text in SCRIPT[3:]:
        last = await asyncio.gather(*(bot.handle_message(s, "u1", text) for s in sessions))
    assert all(r.completed and r.responses[0].startswith("Done! $10 was sent") for r in last)
    assert all(r.turn == 5 for r in last)
    assert len(await bank.transfers()) == len(sessions)
