"""Several bot processes on one store: any process serves any turn; a killed one loses nothing.

The bots are real OS processes (``worker.py``) sharing a SQLite file or a Redis server, calling
the real mock bank on loopback.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from statechat import Bot
from tests.stores.helpers import (
    SCRIPT,
    BankClient,
    Worker,
    WorkerDied,
    converse,
    normalized,
)

pytestmark = pytest.mark.slow
MAX_KILLS = 4  # random kills in the first phase (each costs a new process)

StartWorker = Callable[[str], Awaitable[Worker]]


async def reference_replies(make_bot: Callable[..., Bot]) -> list[list[str]]:
    """What one bot in one process answers to the script (normalized)."""
    turns = await converse(make_bot("memory://"), "reference", *SCRIPT)
    return [normalized(t.responses) for t in turns]


async def test_alternating_processes_answer_like_one(
    shared_store_url: str,
    bank: BankClient,
    workers: StartWorker,
    make_bot: Callable[..., Bot],
) -> None:
    expected = await reference_replies(make_bot)
    a, b = await asyncio.gather(workers(shared_store_url), workers(shared_store_url))
    sessions = [f"c{i}" for i in range(4)]
    got: dict[str, list[dict[str, Any]]] = {s: [] for s in sessions}
    for k, text in enumerate(SCRIPT):
        # turn k of conversation i goes to process (i + k) % 2: every conversation alternates
        results = await asyncio.gather(
            *((a, b)[(i + k) % 2].message(s, text) for i, s in enumerate(sessions))
        )
        for s, result in zip(sessions, results, strict=True):
            got[s].append(result)
    for s in sessions:
        assert [normalized(r["responses"]) for r in got[s]] == expected
        assert [r["turn"] for r in got[s]] == [1, 2, 3, 4, 5]
        assert got[s][-1]["completed"]
    transfers = await bank.transfers()
    assert len(transfers) == 1 + len(sessions)  # the reference's and one per conversation
    assert {got[s][-1]["variables"]["transaction_id"] for s in sessions} == {
        t["transaction_id"] for t in transfers[1:]
    }


async def test_two_processes_serialize_messages_to_one_session(
    shared_store_url: str, bank: BankClient, workers: StartWorker
) -> None:
    a, b = await asyncio.gather(workers(shared_store_url), workers(shared_store_url))
    results = await asyncio.gather(
        *(w.message("shared", "hello there") for _ in range(25) for w in (a, b))
    )
    assert sorted(r["turn"] for r in results) == list(range(1, 51))  # each turn exactly once
    session = await a.session("shared")
    assert session is not None and session["turn"] == 50


async def test_kill_9_mid_turn_loses_nothing_and_pays_once(
    shared_store_url: str,
    bank: BankClient,
    workers: StartWorker,
    make_bot: Callable[..., Bot],
) -> None:
    expected = await reference_replies(make_bot)
    url = shared_store_url  # lock_timeout=1: a dead process's lease blocks its session 1 s
    rng = random.Random(7)
    live = list(await asyncio.gather(workers(url), workers(url)))
    sessions = [f"k{i}" for i in range(6)]
    progress = dict.fromkeys(sessions, 0)  # index in SCRIPT of each conversation's next turn
    replies: dict[str, dict[int, list[str]]] = {s: {} for s in sessions}
    final: dict[str, dict[str, Any]] = {}

    async def after_crash(session: str, index: int) -> None:
        """The turn in flight died with its process: did it commit before? (at most it is lost)"""
        info = await live[0].session(session)
        stored = info["turn"] if info else 0
        assert stored in (index, index + 1), (session, index, info)
        if stored == index + 1:  # saved, only the reply was lost
            progress[session] = index + 1

    def record(session: str, index: int, result: dict[str, Any]) -> None:
        replies[session][index] = normalized(result["responses"])
        progress[session] = index + 1
        if index == len(SCRIPT) - 1:
            final[session] = result

    # 1. the first four turns of every conversation, concurrently on random processes; in some
    #    rounds a random process is killed (kill -9) after a random number of answers
    rounds = kills = 0
    while any(progress[s] < 4 for s in sessions):
        todo = [s for s in sessions if progress[s] < 4]
        sent = {s: (rng.choice(live), progress[s]) for s in todo}
        futures = {
            s: w.send("message", session=s, text=SCRIPT[i], user="u1")
            for s, (w, i) in sent.items()
        }
        victim = None
        if kills < MAX_KILLS:
            answers = rng.randrange(len(futures))
            pending: set[asyncio.Future[dict[str, Any]]] = set(futures.values())
            while len(futures) - len(pending) < answers:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            busy = [
                w for w in live if any(sent[s][0] is w and not futures[s].done() for s in todo)
            ]
            victim = rng.choice(busy or live)
            victim.kill()
            live.remove(victim)
            kills += 1
        await asyncio.wait(futures.values())
        for s, future in futures.items():
            index = sent[s][1]
            if future.exception() is None:
                result = future.result()
                assert result["ok"], result
                record(s, index, result["result"])
            else:
                assert isinstance(future.exception(), WorkerDied)
                await after_crash(s, index)
        if victim is not None:
            live.append(await workers(url))
        rounds += 1

    # 2. the worst moment: the bank executed the transfer, the process dies before saving
    victim, survivor = live
    hung = sessions[:3]
    await bank.fault("timeout", after=True, path="/transfers", delay=60, count=len(hung))
    doomed = {s: victim.send("message", session=s, text="yes", user="u1") for s in hung}
    deadline = time.monotonic() + 30
    # (polled in the bank's memory: a GET /transfers would match the fault's path too)
    while len(bank.state.transfers) < 1 + len(hung):  # the reference's + the hung ones
        assert time.monotonic() < deadline, "the bank never executed the transfers"
        await asyncio.sleep(0.01)
    executed = {t["transaction_id"] for t in bank.state.transfers}
    victim.kill()
    await asyncio.wait(doomed.values())
    assert all(isinstance(f.exception(), WorkerDied) for f in doomed.values())
    live.remove(victim)
    for s in hung:
        await after_crash(s, 4)
        assert progress[s] == 4  # the hung turn never saved: the session still waits for "yes"

    # 3. every conversation completes in the other process; the retried "yes" replays the
    #    bank's stored answer instead of paying again
    for s in sessions:
        while progress[s] < len(SCRIPT):
            index = progress[s]
            record(s, index, await survivor.message(s, SCRIPT[index]))

    for s in sessions:
        for index, got in replies[s].items():
            assert got == expected[index], (s, index)
        assert final[s]["completed"] and final[s]["state"] is None
        info = await survivor.session(s)
        assert info is not None and info["turn"] == len(SCRIPT) and info["state"] is None
        assert sorted({h["turn"] for h in info["history"]}) == [1, 2, 3, 4, 5]
    transfers = await bank.transfers()
    assert len(transfers) == 1 + len(sessions)  # each conversation's transfer exactly once
    ids = {final[s]["variables"]["transaction_id"] for s in sessions}
    assert len(ids) == len(sessions)
    assert ids == {t["transaction_id"] for t in transfers[1:]}
    assert {final[s]["variables"]["transaction_id"] for s in hung} <= executed
    posts = [r for r in await bank.requests() if r["method"] == "POST"]
    keys = [p["idempotency_key"] for p in posts]
    assert len(set(keys)) == 1 + len(sessions) and all(keys)
    assert len(keys) >= 1 + len(sessions) + len(hung)  # the hung ones were sent again
