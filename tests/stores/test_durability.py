"""Sessions outlive the bot: a restarted bot continues every conversation; no turn is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from statechat import Bot
from statechat.compiler.schema import BotConfig, Limits
from tests.stores.helpers import (
    SCRIPT,
    SHARED_KINDS,
    STORE_KINDS,
    BankClient,
    converse,
    normalized,
    store_url_for,
)

COUNTER = {
    "workflow_id": "counter",
    "trigger_intent": "count",
    "steps": [
        {"id": "ask", "type": "wait_input", "slot": "msg", "next_step": "check"},
        {
            "id": "check",
            "type": "condition",
            "condition": "msg == 'stop'",
            "if_true": "bye",
            "if_false": "echo",
        },
        {"id": "echo", "type": "response", "response_text": "got {msg}", "next_step": "ask"},
        {"id": "bye", "type": "response", "response_text": "bye"},
    ],
}


@pytest.mark.parametrize("kind", SHARED_KINDS)
async def test_a_new_bot_continues_the_conversation(
    kind: str,
    bank: BankClient,
    make_bot: Callable[..., Bot],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    reference = await converse(make_bot("memory://"), "ref", *SCRIPT)

    url = store_url_for(kind, request, tmp_path)
    first = make_bot(url)
    before = await converse(first, "s1", *SCRIPT[:3])
    await first.close()
    second = make_bot(url)  # a new bot: nothing cached, everything from the store
    after = await converse(second, "s1", *SCRIPT[3:])

    got = before + after
    assert [normalized(t.responses) for t in got] == [
        normalized(t.responses) for t in reference
    ]
    assert [t.state for t in got] == [t.state for t in reference]
    assert [t.turn for t in got] == [1, 2, 3, 4, 5]
    assert got[-1].completed and got[-1].responses[0].startswith("Done! $10 was sent")
    transfers = await bank.transfers()
    assert len(transfers) == 2  # the reference run's and this one's, each once
    assert got[-1].variables["transaction_id"] == transfers[-1]["transaction_id"]
    session = await second.get_session("s1")
    assert session is not None and session["turn"] == 5
    assert sorted({h["turn"] for h in session["history"]}) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("kind", STORE_KINDS)
async def test_200_concurrent_messages_to_one_session(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    no_plugin_env: None,
) -> None:
    url = store_url_for(kind, request, tmp_path)
    bot = Bot.from_workflows(
        [COUNTER],
        config=BotConfig(limits=Limits(max_history=10_000)),
        store=url,
        entry_points=False,
    )
    try:
        results = await asyncio.gather(
            *(bot.handle_message("one", "u1", f"m{i}", intent="count") for i in range(200))
        )
        assert sorted(r.turn for r in results) == list(range(1, 201))
        # every message but the one that started the workflow was echoed exactly once
        echoed = [reply for r in results for reply in r.responses]
        assert len(echoed) == 199 and len(set(echoed)) == 199
        assert set(echoed) <= {f"got m{i}" for i in range(200)}

        snapshot = await bot.store.load("one")
        assert snapshot is not None and snapshot["turn"] == 200
        turns = [row[0] for row in snapshot["history"]]
        assert sorted(set(turns)) == list(range(1, 201))
        received = [row for row in snapshot["history"] if row[6] == "received"]
        assert sorted(row[0] for row in received) == list(range(2, 201))  # each turn once
    finally:
        await bot.close()

    # and a fresh bot sees exactly that
    if kind != "memory":
        again = Bot.from_workflows([COUNTER], store=url, entry_points=False)
        try:
            last = await again.handle_message("one", "u1", "stop", intent="count")
            assert last.turn == 201 and last.responses == ["bye"] and last.completed
        finally:
            await again.close()

