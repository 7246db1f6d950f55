"""A small core-banking mock service (aiohttp) to run the banking flows and tests against.

``python -m statechat_banking.service --host 127.0.0.1 --port 8081``

Routes:

- ``GET /accounts/{id}`` -> ``{"account_id", "balance", "currency", "owner"}`` (404 if unknown)
- ``GET /accounts/{id}/balance`` -> ``{"account_id", "balance", "currency": "USD"}``
- ``POST /transfers`` ``{"from_account", "to_account", "amount"}`` -> 201 with
  ``{"transaction_id", "status": "completed", ...}``; 400 (body not JSON), 404 (unknown account),
  422 (bad fields, insufficient funds). An ``Idempotency-Key`` header makes a retry safe: the same
  key returns the stored response (header ``Idempotent-Replayed: true``) without moving money.
- ``GET /transfers`` -> ``{"transfers": [...]}``, every executed transfer
- ``POST /_faults`` ``{"mode": "500"|"timeout"|"bad_json"|"none", "count": 1, "path": "/",
  "delay": 30, "after": false}`` -> the next ``count`` requests whose path starts with ``path``
  fail that way; ``after: true`` executes the request first and then fails its response.
- ``GET /_requests`` -> ``{"requests": [{"method", "path", "raw_path", "idempotency_key"}...]}``
  (every request to the API, before faults; ``raw_path`` keeps the percent-encoding)
- ``POST /_reset`` -> initial accounts, no transfers, keys, faults or recorded requests.

Errors are JSON: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

__all__ = ["BANK_KEY", "DEFAULT_ACCOUNTS", "Bank", "Fault", "main", "make_app"]

CENT = Decimal("0.01")
FAULT_MODES = ("500", "timeout", "bad_json", "none")

#: The accounts a new service starts with.
DEFAULT_ACCOUNTS: dict[str, dict[str, Any]] = {
    "A1": {"balance": 1000.0, "owner": None},
    "A2": {"balance": 250.0, "owner": None},
    "A3": {"balance": 5000.0, "owner": "alice"},
}


@dataclass
class Fault:
    """An injected failure for the next ``count`` requests under ``path``."""

    mode: str
    count: int = 1
    path: str = "/"
    delay: float = 30.0
    after: bool = False


@dataclass
class _Stored:
    fingerprint: str
    status: int
    body: dict[str, Any]


@dataclass
class Bank:
    """The service's state: accounts, executed transfers, idempotency keys, pending faults."""

    initial: dict[str, dict[str, Any]]
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    idempotent: dict[str, _Stored] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the initial accounts; forget transfers, keys, faults and requests."""
        self.accounts = {
            k: {**copy.deepcopy(v), "balance": _money(v["balance"])}
            for k, v in self.initial.items()
        }
        self.transfers = []
        self.idempotent = {}
        self.faults = []
        self.requests = []

    def find(self, account_id: str) -> tuple[str, dict[str, Any]] | None:
        """The account (exact id, else upper-cased), with its id."""
        for key in (account_id, account_id.strip().upper()):
            if key in self.accounts:
                return key, self.accounts[key]
        return None

    def take_fault(self, path: str) -> Fault | None:
        """The first pending fault matching ``path``, counting it down."""
        for fault in self.faults:
            if path.startswith(fault.path) and fault.count > 0:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def transfer(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Validate and execute one transfer; returns ``(status, JSON body)``."""
        src, dst, amount = body.get("from_account"), body.get("to_account"), body.get("amount")
        if not isinstance(src, str) or not src or not isinstance(dst, str) or not dst:
            return 422, _err("invalid_request", "from_account and to_account must be account ids")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            return 422, _err("invalid_amount", "amount must be a number")
        if not math.isfinite(amount) or amount <= 0:
            return 422, _err("invalid_amount", "amount must be greater than zero")
        value = Decimal(str(amount))
        if value != value.quantize(CENT):
            return 422, _err("invalid_amount", "amount must have at most two decimal places")
        found_src, found_dst = self.find(src), self.find(dst)
        for given, found in ((src, found_src), (dst, found_dst)):
            if found is None:
                return 404, _err("account_not_found", f"account {given} does not exist")
        assert found_src is not None and found_dst is not None
        (src_id, src_acc), (dst_id, dst_acc) = found_src, found_dst
        if src_id == dst_id:
            return 422, _err("same_account", "cannot transfer to the same account")
        if src_acc["balance"] < value:
            return 422, _err(
                "insufficient_funds",
                f"account {src_id} has {float(src_acc['balance']):.2f}, needs {float(value):.2f}",
            )
        src_acc["balance"] -= value
        dst_acc["balance"] += value
        record = {
            "transaction_id": "TX-" + uuid.uuid4().hex[:12].upper(),
            "status": "completed",
            "from_account": src_id,
            "to_account": dst_id,
            "amount": float(value),
            "currency": "USD",
            "from_balance": float(src_acc["balance"]),
            "created_at": datetime.now(UTC).isoformat(),
        }
        self.transfers.append(record)
        return 201, dict(record)


#: Where an application keeps its :class:`Bank`.
BANK_KEY = web.AppKey("statechat_banking.bank", Bank)


def _money(x: Any) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def _err(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(_err(code, message), status=status)


def _account_json(account_id: str, account: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "balance": float(account["balance"]),
        "currency": account.get("currency", "USD"),
        "owner": account.get("owner"),
    }


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)


@web.middleware
async def _faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_"):
        return await handler(request)
    bank = request.app[BANK_KEY]
    bank.requests.append(
        {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "idempotency_key": request.headers.get("Idempotency-Key"),
        }
    )
    fault = bank.take_fault(request.path)
    if fault is None:
        return await handler(request)
    response = await handler(request) if fault.after else None
    if fault.mode == "500":
        return _error(500, "injected_fault", "injected server error")
    if fault.mode == "bad_json":
        return web.Response(
            status=200, text='{"this is": not json', content_type="application/json"
        )
    await asyncio.sleep(fault.delay)  # "timeout"
    return response if response is not None else _error(504, "injected_fault", "injected timeout")


async def _get_account(request: web.Request) -> web.Response:
    found = request.app[BANK_KEY].find(request.match_info["account_id"])
    if found is None:
        return _error(
            404, "account_not_found", f"account {request.match_info['account_id']} does not exist"
        )
    return web.json_response(_account_json(*found))


async def _get_balance(request: web.Request) -> web.Response:
    found = request.app[BANK_KEY].find(request.match_info["account_id"])
    if found is None:
        return _error(
            404, "account_not_found", f"account {request.match_info['account_id']} does not exist"
        )
    account_id, account = found
    return web.json_response(
        {"account_id": account_id, "balance": float(account["balance"]), "currency": "USD"}
    )


async def _post_transfer(request: web.Request) -> web.Response:
    bank = request.app[BANK_KEY]
    key = request.headers.get("Idempotency-Key")
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "bad_json", "the request body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "bad_request", "the request body must be a JSON object")
    fingerprint = json.dumps(body, sort_keys=True, default=str)
    if key:
        stored = bank.idempotent.get(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(
                    422,
                    "idempotency_key_reused",
                    "Idempotency-Key reused with a different request",
                )
            return web.json_response(
                stored.body, status=stored.status, headers={"Idempotent-Replayed": "true"}
            )
    status, payload = bank.transfer(body)
    if key:
        bank.idempotent[key] = _Stored(fingerprint, status, payload)
    return web.json_response(payload, status=status)


async def _list_transfers(request: web.Request) -> web.Response:
    return web.json_response({"transfers": request.app[BANK_KEY].transfers})


async def _set_faults(request: web.Request) -> web.Response:
    bank = request.app[BANK_KEY]
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "bad_json", "the request body is not valid JSON")
    if not isinstance(body, dict) or str(body.get("mode")) not in FAULT_MODES:
        return _error(422, "invalid_fault", f"mode must be one of {', '.join(FAULT_MODES)}")
    mode = str(body["mode"])
    if mode == "none":
        bank.faults.clear()
        return web.json_response({"faults": []})
    try:
        fault = Fault(
            mode=mode,
            count=int(body.get("count", 1)),
            path=str(body.get("path") or "/"),
            delay=float(body.get("delay", 30.0)),
            after=bool(body.get("after", False)),
        )
    except (TypeError, ValueError):
        return _error(422, "invalid_fault", "count must be an integer and delay a number")
    bank.faults.append(fault)
    return web.json_response({"faults": [f.__dict__ for f in bank.faults]})


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": [f.__dict__ for f in request.app[BANK_KEY].faults]})


async def _get_requests(request: web.Request) -> web.Response:
    return web.json_response({"requests": request.app[BANK_KEY].requests})


async def _reset(request: web.Request) -> web.Response:
    request.app[BANK_KEY].reset()
    return web.json_response({"status": "reset"})


def make_app(accounts: Mapping[str, Mapping[str, Any] | float] | None = None) -> web.Application:
    """The mock bank as an aiohttp application.

    Args:
        accounts: ``{id: {"balance": 100.0, "owner": "alice"}}`` (or ``{id: balance}``);
            :data:`DEFAULT_ACCOUNTS` when omitted.
    """
    initial: dict[str, dict[str, Any]] = {}
    for account_id, spec in (accounts if accounts is not None else DEFAULT_ACCOUNTS).items():
        if isinstance(spec, Mapping):
            initial[account_id] = {"owner": None, **dict(spec)}
            initial[account_id].setdefault("balance", 0.0)
        else:
            initial[account_id] = {"balance": spec, "owner": None}
    app = web.Application(middlewares=[_errors, _faults])
    app[BANK_KEY] = Bank(initial)
    app.router.add_get("/accounts/{account_id}", _get_account)
    app.router.add_get("/accounts/{account_id}/balance", _get_balance)
    app.router.add_post("/transfers", _post_transfer)
    app.router.add_get("/transfers", _list_transfers)
    app.router.add_post("/_faults", _set_faults)
    app.router.add_get("/_faults", _get_faults)
    app.router.add_get("/_requests", _get_requests)
    app.router.add_post("/_reset", _reset)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the service: ``python -m statechat_banking.service [--host H] [--port P]``."""
    parser = argparse.ArgumentParser(
        prog="python -m statechat_banking.service", description="Mock core-banking service"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    print(f"core banking mock listening on http://{args.host}:{args.port}", flush=True)
    web.run_app(make_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
