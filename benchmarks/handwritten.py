"""The banking transfer written by hand on python-statemachine: the floor statechat builds on.

One state per step of ``flows/banking_transfer.yaml``, async callbacks, the same in-process bank,
a regex for the trigger message and f-strings for replies. One machine instance per conversation,
kept alive between turns (no store), which is how a hand-written bot would do it.
"""

from __future__ import annotations

import re
from typing import Any

from statemachine import State, StateChart

from benchmarks.inprocess import InProcessBank

TRIGGER = re.compile(r"(?i)\b(?:transfer|send|move|pay)\b(?:.*?\$?(?P<amount>\d+(?:\.\d+)?))?")


class Conversation:
    """The model: variables and the replies of the current turn."""

    def __init__(self, bank: InProcessBank, user_id: str) -> None:
        self.bank = bank
        self.user_id = user_id
        self.vars: dict[str, Any] = {}
        self.replies: list[str] = []
        self.text = ""


class BankingTransfer(StateChart):
    """authenticate -> amount -> from -> to -> access -> balance -> funds -> confirm -> execute."""

    catch_errors_as_events = False
    enable_self_transition_entries = False  # re-asks run only the handler, not enter

    idle = State(initial=True)
    authenticate = State()
    get_amount = State()
    get_from_account = State()
    get_to_account = State()
    validate_access = State()
    check_balance = State()
    verify_funds = State()
    confirm_transfer = State()
    check_confirmation = State()
    execute_transfer = State()
    transfer_complete = State()
    insufficient_funds = State()
    transfer_cancelled = State()
    service_error = State()
    done = State(final=True)

    start = idle.to(authenticate)
    ok = (
        authenticate.to(get_amount)
        | get_amount.to(get_from_account)
        | get_from_account.to(get_to_account)
        | get_to_account.to(validate_access)
        | validate_access.to(check_balance)
        | check_balance.to(verify_funds)
        | verify_funds.to(confirm_transfer, cond="has_funds")
        | verify_funds.to(insufficient_funds, unless="has_funds")
        | confirm_transfer.to(check_confirmation)
        | check_confirmation.to(execute_transfer, cond="confirmed")
        | check_confirmation.to(transfer_cancelled, unless="confirmed")
        | execute_transfer.to(transfer_complete)
        | transfer_complete.to(done)
        | insufficient_funds.to(done)
        | transfer_cancelled.to(done)
        | service_error.to(done)
    )
    fail = check_balance.to(service_error) | execute_transfer.to(service_error)
    message = (
        get_amount.to.itself(internal=True, on="answer_amount")
        | get_from_account.to.itself(internal=True, on="answer_account")
        | get_to_account.to.itself(internal=True, on="answer_account")
        | confirm_transfer.to.itself(internal=True, on="answer_confirm")
    )

    def has_funds(self, model: Conversation) -> bool:
        return bool(model.vars["current_balance"] >= model.vars["amount"])

    def confirmed(self, model: Conversation) -> bool:
        return bool(model.vars["confirmation"] == "yes")

    async def on_enter_authenticate(self, model: Conversation) -> None:
        model.vars["authenticated"] = bool(model.user_id)
        await self.raise_("ok")

    async def on_enter_get_amount(self, model: Conversation) -> None:
        if "amount" in model.vars:
            await self.raise_("ok")
        else:
            model.replies.append("How much would you like to transfer?")

    async def answer_amount(self, model: Conversation) -> None:
        try:
            model.vars["amount"] = float(model.text)
        except ValueError:
            model.replies.append("Please enter a number.")
            return
        await self.raise_("ok")

    async def on_enter_get_from_account(self, model: Conversation) -> None:
        model.replies.append("Which account would you like to transfer from?")

    async def on_enter_get_to_account(self, model: Conversation) -> None:
        model.replies.append("Which account should receive the money?")

    async def answer_account(self, model: Conversation) -> None:
        account = model.text.strip().upper()
        try:
            await model.bank.request("GET", f"/accounts/{account}")
        except Exception:
            model.replies.append(f"I couldn't find account {account}.")
            model.replies.append("Which account?")
            return
        slot = "from_account" if self.get_from_account.is_active else "to_account"
        model.vars[slot] = account
        await self.raise_("ok")

    async def on_enter_validate_access(self, model: Conversation) -> None:
        await model.bank.request("GET", f"/accounts/{model.vars['from_account']}")
        await self.raise_("ok")

    async def on_enter_check_balance(self, model: Conversation) -> None:
        data = await model.bank.request("GET", f"/accounts/{model.vars['from_account']}/balance")
        model.vars["current_balance"] = data["balance"]
        await self.raise_("ok")

    async def on_enter_verify_funds(self) -> None:
        await self.raise_("ok")

    async def on_enter_confirm_transfer(self, model: Conversation) -> None:
        v = model.vars
        model.replies.append(
            f"Transfer ${v['amount']} from {v['from_account']} to {v['to_account']}? (yes/no)"
        )

    async def answer_confirm(self, model: Conversation) -> None:
        answer = model.text.strip().lower()
        if answer not in ("yes", "no"):
            model.replies.append("Please answer yes or no.")
            return
        model.vars["confirmation"] = answer
        await self.raise_("ok")

    async def on_enter_check_confirmation(self) -> None:
        await self.raise_("ok")

    async def on_enter_execute_transfer(self, model: Conversation) -> None:
        v = model.vars
        data = await model.bank.request(
            "POST",
            "/transfers",
            headers={"Idempotency-Key": f"{id(model)}"},
            json={"from_account": v["from_account"], "to_account": v["to_account"], "amount": v["amount"]},
        )
        v["transaction_id"] = data["transaction_id"]
        await self.raise_("ok")

    async def on_enter_transfer_complete(self, model: Conversation) -> None:
        v = model.vars
        model.replies.append(
            f"Done! ${v['amount']} was sent from {v['from_account']} to {v['to_account']}. "
            f"Reference: {v['transaction_id']}."
        )
        await self.raise_("ok")

    async def on_enter_insufficient_funds(self, model: Conversation) -> None:
        model.replies.append("Sorry, not enough money.")
        await self.raise_("ok")

    async def on_enter_transfer_cancelled(self, model: Conversation) -> None:
        model.replies.append("Okay, the transfer was cancelled.")
        await self.raise_("ok")

    async def on_enter_service_error(self, model: Conversation) -> None:
        model.replies.append("Our banking service is unavailable right now.")
        await self.raise_("ok")


class HandwrittenBot:
    """Keeps one live machine per session; a turn = one send."""

    def __init__(self) -> None:
        self.bank = InProcessBank()
        self.sessions: dict[str, BankingTransfer] = {}

    async def handle_message(self, session_id: str, user_id: str, text: str) -> list[str]:
        sm = self.sessions.get(session_id)
        model: Conversation
        if sm is None:
            model = Conversation(self.bank, user_id)
            sm = BankingTransfer(model=model)
            await sm.activate_initial_state()
            self.sessions[session_id] = sm
            m = TRIGGER.search(text)
            if m and m.group("amount"):
                model.vars["amount"] = float(m.group("amount"))
            model.replies = []
            await sm.send("start")
        else:
            model = sm.model
            model.replies = []
            model.text = text
            await sm.send("message")
        if sm.is_terminated:
            del self.sessions[session_id]
        return model.replies
