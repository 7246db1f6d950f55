"""The demo bot end to end against the real mock bank on loopback (no mocks of our code)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statechat import UsageError, hookimpl
from statechat.compat.seed_workflow import BANKING_TRANSFER_WORKFLOW
from tests.runtime.conftest import Bank, converse

SCRIPT = ["transfer 500", "A9", "A1", "A2", "yes"]


async def test_five_turn_script(bank: Bank, make_bot: Any) -> None:
    bot = make_bot()
    turns = await converse(bot, "s1", *SCRIPT)
    assert turns[0].responses == ["Which account would you like to transfer from?"]
    assert turns[0].state == "banking_transfer_v1.get_from_account"
    assert turns[0].waiting_for == "from_account"
    assert turns[0].variables["amount"] == 500
    assert turns[1].responses[0].startswith("I couldn't find account A9")
    assert turns[1].responses[-1] == "Which account would you like to transfer from?"
    assert turns[1].state == "banking_transfer_v1.get_from_account"
    assert turns[2].responses == ["Which account should receive the money?"]
    assert turns[3].responses == ["Transfer $500 from A1 to A2? (yes/no)"]
    assert turns[3].waiting_for == "confirmation"
    last = turns[4]
    assert last.completed and last.state is None and last.waiting_for is None
    assert last.responses[0].startswith("Done! $500 was sent from A1 to A2. Reference: ")
    transfers = await bank.transfers()
    assert len(transfers) == 1
    assert transfers[0]["from_account"] == "A1" and transfers[0]["to_account"] == "A2"
    assert last.variables["transaction_id"] == transfers[0]["transaction_id"]
    # every side-effecting call carried an idempotency key
    posts = [r for r in await bank.requests() if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["idempotency_key"]


async def test_state_history_records_every_step(bank: Bank, make_bot: Any) -> None:
    bot = make_bot()
    await converse(bot, "s1", *SCRIPT)
    session = await bot.get_session("s1")
    assert session is not None
    steps = [h["step"] for h in session["history"]]
    for step in ("authenticate", "get_amount", "get_from_account", "check_balance",
                 "verify_funds", "execute_transfer", "transfer_complete"):
        assert step in steps
    reask = [h for h in session["history"] if h["outcome"] == "invalid"]
    assert [h["step"] for h in reask] == ["get_from_account"]
    assert {h["turn"] for h in session["history"]} == {1, 2, 3, 4, 5}


async def test_insufficient_funds(bank: Bank, make_bot: Any) -> None:
    turns = await converse(make_bot(), "s1", "transfer 900", "A2", "A1")
    assert turns[-1].completed
    assert turns[-1].responses == [
        "Sorry, your balance of $250.00 is not enough to transfer $900."
    ] or "not enough" in turns[-1].responses[0]
    assert await bank.transfers() == []


async def test_amount_out_of_range_reasks_then_gives_up(bank: Bank, make_bot: Any) -> None:
    bot = make_bot()
    first = await bot.handle_message("s1", "u1", "transfer 20000")
    assert first.state == "banking_transfer_v1.get_amount"
    assert "between" in first.responses[0]
    assert first.responses[-1] == "How much would you like to transfer?"
    more = await converse(bot, "s1", "lots", "-5", "30000")
    assert all(t.state == "banking_transfer_v1.get_amount" for t in more)
    assert more[-1].variables["attempt"] == 3
    last = await bot.handle_message("s1", "u1", "a million")
    assert last.completed and last.state is None
    assert last.responses[-1].startswith("Sorry, I couldn't understand that amount")


async def test_declining_the_confirmation_cancels(bank: Bank, make_bot: Any) -> None:
    turns = await converse(make_bot(), "s1", "transfer 50", "A1", "A2", "no")
    assert turns[-1].responses == ["Okay, the transfer was cancelled."]
    assert await bank.transfers() == []


async def test_upstream_500_goes_to_on_error(bank: Bank, make_bot: Any) -> None:
    await bank.fault("500", count=10, path="/accounts/A1/balance")
    turns = await converse(make_bot(), "s1", "transfer 50", "A1", "A2")
    assert turns[-1].completed
    assert turns[-1].responses == [
        "Our banking service is unavailable right now. Please try again later."
    ]
    assert turns[-1].variables["error"].endswith("returned HTTP 500")


async def test_retry_on_failure_recovers_from_one_500(bank: Bank, make_bot: Any) -> None:
    await bank.fault("500", count=1, path="/accounts/A1/balance")
    turns = await converse(make_bot(), "s1", "transfer 50", "A1", "A2")
    assert turns[-1].responses == ["Transfer $50 from A1 to A2? (yes/no)"]
    balance_calls = [r for r in await bank.requests() if r["path"] == "/accounts/A1/balance"]
    assert len(balance_calls) == 2


async def test_upstream_invalid_json_goes_to_on_error(bank: Bank, make_bot: Any) -> None:
    await bank.fault("bad_json", count=10, path="/accounts/A1/balance")
    turns = await converse(make_bot(), "s1", "transfer 50", "A1", "A2")
    assert turns[-1].responses[0].startswith("Our banking service is unavailable")
    assert "not valid JSON" in turns[-1].variables["error"]


def _short_timeout_workflow() -> dict[str, Any]:
    wf = copy.deepcopy(BANKING_TRANSFER_WORKFLOW)
    for step in wf["steps"]:
        if step["id"] == "check_balance":
            step["timeout"] = 0.3
            step["retry_on_failure"] = False
    wf["steps"] += [
        {"id": "invalid_amount", "type": "response", "response_text": "Bad amount."},
        {"id": "invalid_account", "type": "response", "response_text": "Bad account."},
    ]
    return wf


async def test_upstream_timeout_goes_to_on_error(bank: Bank, make_bot: Any) -> None:
    await bank.fault("timeout", count=5, path="/accounts/A1/balance", delay=5)
    bot = make_bot([_short_timeout_workflow()])
    turns = await converse(bot, "s1", "x", "A1", "A2")
    assert turns[0].responses == ["Sorry, I didn't understand that. What would you like to do?"]
    bot2 = make_bot([_short_timeout_workflow()])
    t = await bot2.handle_message("s2", "u1", "go", intent="transfer_money", entities={"amount": 5})
    assert t.state == "banking_transfer_v1.get_from_account"
    turns = await converse(bot2, "s2", "A1", "A2")
    assert turns[-1].responses[0].startswith("Our banking service is unavailable")
    assert "timed out" in turns[-1].variables["error"]


async def test_path_parameters_are_url_encoded(bank: Bank, make_bot: Any) -> None:
    wf = {
        "workflow_id": "peek",
        "trigger_intent": "peek",
        "steps": [
            {"id": "ask", "type": "slot_fill", "slot": "account", "prompt": "Which?",
             "next_step": "call"},
            {"id": "call", "type": "api_call", "integration": "core_banking",
             "endpoint": "/accounts/{account}/balance", "next_step": "ok", "on_error": "ko"},
            {"id": "ok", "type": "response", "response_text": "ok"},
            {"id": "ko", "type": "response", "response_text": "no such account"},
        ],
    }
    bot = make_bot([wf])
    await bot.handle_message("s1", "u1", "peek", intent="peek")
    turn = await bot.handle_message("s1", "u1", "../admin")
    assert turn.responses == ["no such account"]
    raw = [r["raw_path"] for r in await bank.requests()]
    assert raw == ["/accounts/..%2Fadmin/balance"]


async def test_digression_into_balance_check_and_back(bank: Bank, make_bot: Any) -> None:
    bot = make_bot()
    await bot.handle_message("s1", "u1", "transfer 100")
    d = await bot.handle_message("s1", "u1", "what is my balance")
    assert d.state == "balance_check.get_account"
    back = await bot.handle_message("s1", "u1", "A2")
    assert back.responses[0] == "The balance of A2 is $250.00."
    assert back.responses[-1] == "Which account would you like to transfer from?"
    assert back.state == "banking_transfer_v1.get_from_account"
    assert back.variables["amount"] == 100  # the transfer's own variables survived
    rest = await converse(bot, "s1", "A1", "A2", "yes")
    assert rest[-1].responses[0].startswith("Done! $100 was sent from A1 to A2.")


async def test_cancel_ends_the_active_workflow(bank: Bank, make_bot: Any) -> None:
    bot = make_bot()
    await bot.handle_message("s1", "u1", "transfer 100")
    turn = await bot.handle_message("s1", "u1", "cancel")
    assert turn.completed and turn.state is None
    assert turn.responses == ["Okay, I've cancelled that."]
    again = await bot.handle_message("s1", "u1", "A1")
    assert again.responses == ["Sorry, I didn't understand that. What would you like to do?"]


async def test_cancel_during_a_digression_resumes_the_suspended_flow(
    bank: Bank, make_bot: Any
) -> None:
    bot = make_bot()
    await converse(bot, "s1", "transfer 100", "balance please")
    turn = await bot.handle_message("s1", "u1", "cancel")
    assert turn.state == "banking_transfer_v1.get_from_account"
    assert turn.responses[-1] == "Which account would you like to transfer from?"


async def test_an_idle_session_expires(bank: Bank, make_bot: Any) -> None:
    bot = make_bot()
    await bot.handle_message("s1", "u1", "transfer 100")
    snap = await bot.store.load("s1")
    assert snap is not None
    # rewrite the stored session as another process would (new turn) 301 s in the past: the
    # transfer's timeout is 300 s, so it is as if the user had left for 5 minutes
    turn = snap["turn"]
    snap.update(turn=turn + 1, updated=snap["updated"] - 301)
    await bot.store.save("s1", snap, expected_turn=turn)
    turn = await bot.handle_message("s1", "u1", "A1")
    assert turn.responses[0].startswith("Your previous conversation expired")
    assert turn.state is None


class Crash(BaseException):
    """Stands for the process dying: nothing below the raise runs, nothing is saved."""


class CrashOnce:
    """An inline plugin whose action kills the first turn that reaches it."""

    __name__ = "crash_once"

    def __init__(self) -> None:
        self.crashed = False

    @hookimpl
    def register_actions(self, register: Any) -> None:
        async def crash_once(ctx: Any) -> None:
            if not self.crashed:
                self.crashed = True
                raise Crash()

        register("crash_once", crash_once)


async def test_first_turn_retried_after_a_crash_does_not_repeat_the_transfer(
    bank: Bank, make_bot: Any, tmp_path: Any
) -> None:
    """The side effect happens in the session's very first turn, before it was ever saved."""
    wf = {
        "workflow_id": "pay",
        "trigger_intent": "pay",
        "steps": [
            {"id": "post", "type": "api_call", "integration": "core_banking", "method": "POST",
             "endpoint": "/transfers",
             "request_body": {"from_account": "A1", "to_account": "A2", "amount": 5},
             "response_mapping": {"transaction_id": "transaction_id"}, "next_step": "crash"},
            {"id": "crash", "type": "custom_action", "action_name": "crash_once",
             "next_step": "done"},
            {"id": "done", "type": "response", "response_text": "Sent: {transaction_id}"},
        ],
    }
    store = f"sqlite:///{tmp_path / 'sessions.db'}"
    crashing = CrashOnce()
    first = make_bot([wf], store=store, plugins=(crashing,))
    with pytest.raises(Crash):
        await first.handle_message("s1", "u1", "pay", intent="pay")
    snap = await first.store.load("s1")
    assert snap is not None and snap["turn"] == 0 and snap["stack"] == []  # stored before the POST
    with pytest.raises(UsageError) as err:  # not a conversation yet: an event would move its turn
        await first.deliver_event("s1", "payment_settled", {"ok": True})
    assert err.value.status == 404
    restarted = make_bot([wf], store=store, plugins=(crashing,))  # another process, same file
    turn = await restarted.handle_message("s1", "u1", "pay", intent="pay")
    transfers = await bank.transfers()
    assert len(transfers) == 1
    assert turn.responses == [f"Sent: {transfers[0]['transaction_id']}"] and turn.turn == 1
    posts = [r for r in await bank.requests() if r["method"] == "POST"]
    assert len(posts) == 2 and posts[0]["idempotency_key"] == posts[1]["idempotency_key"]
