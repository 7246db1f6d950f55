"""A session id used again after its conversation expired or was deleted.

These need the runtime change described in the stores issue note (a per-incarnation ``epoch``
in idempotency keys; snapshots kept past the workflow timeout): until it lands they are
expected to fail (strict xfail, so they report when the change makes them pass).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from statechat import Bot
from tests.stores.helpers import SCRIPT, BankClient, converse

SHORT = {
    "workflow_id": "short",
    "trigger_intent": "go",
    "timeout": 1,
    "steps": [
        {"id": "ask", "type": "wait_input", "slot": "msg", "next_step": "done"},
        {"id": "done", "type": "response", "response_text": "got {msg}"},
    ],
}


async def test_a_new_conversation_in_a_reused_session_pays_again(
    bank: BankClient, make_bot: Callable[..., Bot]
) -> None:
    bot = make_bot("sqlite:///:memory:")
    first = await converse(bot, "s1", *SCRIPT)
    await bot.store.delete("s1")  # what expiry does, without waiting for it
    second = await converse(bot, "s1", *SCRIPT)
    assert first[-1].responses[0].startswith("Done!")
    assert second[-1].responses[0].startswith("Done!")
    transfers = await bank.transfers()
    assert len(transfers) == 2  # not the first transfer's stored answer replayed
    assert second[-1].variables["transaction_id"] == transfers[1]["transaction_id"]


@pytest.mark.parametrize("url", ["memory://", "sqlite:///:memory:"])
async def test_an_idle_workflow_is_told_it_expired(url: str, no_plugin_env: None) -> None:
    bot = Bot.from_workflows([SHORT], store=url, entry_points=False)
    try:
        await bot.handle_message("s1", "u1", "start", intent="go")
        started = time.monotonic()
        while time.monotonic() - started < 1.1:  # the workflow's 1 s timeout passes
            await asyncio.sleep(0.05)
        turn = await bot.handle_message("s1", "u1", "hello")
        assert turn.responses[0].startswith("Your previous conversation expired")
        assert turn.turn == 2
    finally:
        await bot.close()
