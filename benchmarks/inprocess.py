"""In-process stand-ins for the banking plugin, shared by the benchmarks (no network)."""

from __future__ import annotations

import itertools
from typing import Any

from statechat import IntegrationError, Invalid, Valid, hookimpl

ACCOUNTS = {"A1": 1e12, "A2": 250.0, "A3": 5000.0}  # A1 funds every benchmark transfer


class InProcessBank:
    """The core-banking calls the banking flow makes, answered from a dict."""

    def __init__(self) -> None:
        self.balances = dict(ACCOUNTS)
        self.transfers: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    async def request(
        self, method: str, endpoint: str, headers: Any = None, json: Any = None
    ) -> dict[str, Any]:
        parts = endpoint.strip("/").split("/")
        if parts[0] == "accounts" and len(parts) >= 2:
            if parts[1] not in self.balances:
                raise IntegrationError(f"account {parts[1]} not found", status=404, retryable=False)
            return {"account_id": parts[1], "balance": self.balances[parts[1]]}
        if parts == ["transfers"] and method == "POST":
            key = (headers or {}).get("Idempotency-Key") or str(next(self._ids))
            if key not in self.transfers:
                self.balances[json["from_account"]] -= json["amount"]
                self.balances[json["to_account"]] += json["amount"]
                self.transfers[key] = {"transaction_id": f"T{next(self._ids)}", "status": "completed"}
            return self.transfers[key]
        raise IntegrationError(f"no route {method} {endpoint}", status=404, retryable=False)


class InProcessBankingPlugin:
    """Registers ``core_banking``, ``account_exists`` and ``validate_account_access`` in-process."""

    __name__ = "inprocess_banking"

    def __init__(self) -> None:
        self.bank = InProcessBank()

    @hookimpl
    def register_integrations(self, register: Any) -> None:
        register("core_banking", self.bank)

    @hookimpl
    def register_validators(self, register: Any) -> None:
        async def account_exists(value: Any, rule: dict[str, Any], ctx: Any) -> Valid | Invalid:
            account = str(value).strip().upper()
            try:
                await ctx.integration("core_banking").request("GET", f"/accounts/{account}")
            except IntegrationError:
                return Invalid(f"I couldn't find account {account}.")
            return Valid(account)

        register("account_exists", account_exists)

    @hookimpl
    def register_actions(self, register: Any) -> None:
        async def validate_account_access(ctx: Any, account_id: str) -> dict[str, Any]:
            await ctx.integration("core_banking").request("GET", f"/accounts/{account_id}")
            return {"access_validated": True}

        register("validate_account_access", validate_account_access)


#: The scripted banking conversation every benchmark drives, and how its last reply starts.
SCRIPT = ["transfer 500", "A9", "A1", "A2", "yes"]
FINAL = "Done! $500 was sent from A1 to A2."
WARM_CONVERSATIONS = 20


async def drive(bot: Any, conversations: int, tag: str = "") -> tuple[float, Any]:
    """Seconds for ``conversations`` scripted conversations after a warm-up, and the last result.

    ``bot`` is anything with ``async handle_message(session_id, user_id, text)``.
    """
    import gc
    import time

    for i in range(WARM_CONVERSATIONS):
        for text in SCRIPT:
            await bot.handle_message(f"{tag}warm{i}", "u1", text)
    gc.collect()
    last: Any = None
    start = time.perf_counter()
    for i in range(conversations):
        for text in SCRIPT:
            last = await bot.handle_message(f"{tag}s{i}", "u1", text)
    return time.perf_counter() - start, last
