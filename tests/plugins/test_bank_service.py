"""The mock core-banking service of statechat-banking, over real HTTP (aiohttp test client)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from statechat_banking.service import make_app

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def client(aiohttp_client: ClientFactory) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app())


async def test_accounts_and_balances(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/accounts/A1")
    assert resp.status == 200
    assert await resp.json() == {
        "account_id": "A1", "balance": 1000.0, "currency": "USD", "owner": None,
    }  # fmt: skip
    assert (await (await client.get("/accounts/A3")).json())["owner"] == "alice"
    resp = await client.get("/accounts/A2/balance")
    assert await resp.json() == {"account_id": "A2", "balance": 250.0, "currency": "USD"}
    assert (await (await client.get("/accounts/a2/balance")).json())["account_id"] == "A2"


@pytest.mark.parametrize("path", ["/accounts/NOPE", "/accounts/NOPE/balance", "/no/such/route"])
async def test_unknown_things_are_json_404s(client: TestClient[Any, Any], path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404
    body = await resp.json()
    assert set(body["error"]) == {"code", "message"}


async def test_custom_accounts() -> None:
    app = make_app({"X1": 5, "X2": {"balance": 7.5, "owner": "bob"}})
    from aiohttp.test_utils import TestServer

    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/accounts/X2")) as resp:
            assert await resp.json() == {
                "account_id": "X2", "balance": 7.5, "currency": "USD", "owner": "bob",
            }  # fmt: skip
        async with http.get(server.make_url("/accounts/A1")) as resp:
            assert resp.status == 404


async def test_transfer_moves_money(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        "/transfers", json={"from_account": "A1", "to_account": "A2", "amount": 100.25}
    )
    assert resp.status == 201
    body = await resp.json()
    assert body["status"] == "completed"
    assert body["transaction_id"].startswith("TX-")
    assert (body["from_account"], body["to_account"], body["amount"]) == ("A1", "A2", 100.25)
    assert (await (await client.get("/accounts/A1/balance")).json())["balance"] == 899.75
    assert (await (await client.get("/accounts/A2/balance")).json())["balance"] == 350.25
    listed = (await (await client.get("/transfers")).json())["transfers"]
    assert [t["transaction_id"] for t in listed] == [body["transaction_id"]]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"from_account": "A2", "to_account": "A1", "amount": 250.01}, 422, "insufficient_funds"),
        ({"from_account": "A1", "to_account": "A2", "amount": 0}, 422, "invalid_amount"),
        ({"from_account": "A1", "to_account": "A2", "amount": -5}, 422, "invalid_amount"),
        ({"from_account": "A1", "to_account": "A2", "amount": "500"}, 422, "invalid_amount"),
        ({"from_account": "A1", "to_account": "A2", "amount": True}, 422, "invalid_amount"),
        ({"from_account": "A1", "to_account": "A2", "amount": 1.005}, 422, "invalid_amount"),
        ({"from_account": "A1", "to_account": "A1", "amount": 5}, 422, "same_account"),
        ({"from_account": "A1", "amount": 5}, 422, "invalid_request"),
        ({"from_account": "A1", "to_account": "ZZ", "amount": 5}, 404, "account_not_found"),
        ([1, 2], 400, "bad_request"),
    ],
)
async def test_bad_transfers_are_refused(
    client: TestClient[Any, Any], body: Any, status: int, code: str
) -> None:
    resp = await client.post("/transfers", json=body)
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code
    assert (await (await client.get("/transfers")).json())["transfers"] == []
    assert (await (await client.get("/accounts/A1/balance")).json())["balance"] == 1000.0


async def test_body_that_is_not_json_is_400(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        "/transfers", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "bad_json"


async def test_idempotency_key_executes_once(client: TestClient[Any, Any]) -> None:
    body = {"from_account": "A1", "to_account": "A2", "amount": 10}
    headers = {"Idempotency-Key": "s1:execute_transfer:3"}
    first = await client.post("/transfers", json=body, headers=headers)
    second = await client.post("/transfers", json=body, headers=headers)
    assert first.status == second.status == 201
    assert await first.json() == await second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    transfers = (await (await client.get("/transfers")).json())["transfers"]
    assert len(transfers) == 1
    assert (await (await client.get("/accounts/A1/balance")).json())["balance"] == 990.0
    # another key is another transfer; the same key with another body is refused
    other = await client.post("/transfers", json=body, headers={"Idempotency-Key": "k2"})
    assert other.status == 201
    reused = await client.post("/transfers", json={**body, "amount": 11}, headers=headers)
    assert reused.status == 422
    assert (await reused.json())["error"]["code"] == "idempotency_key_reused"
    assert len((await (await client.get("/transfers")).json())["transfers"]) == 2


async def test_concurrent_retries_with_one_key_execute_once(client: TestClient[Any, Any]) -> None:
    body = {"from_account": "A1", "to_account": "A2", "amount": 1}
    headers = {"Idempotency-Key": "same"}
    responses = await asyncio.gather(
        *(client.post("/transfers", json=body, headers=headers) for _ in range(10))
    )
    ids = {(await r.json())["transaction_id"] for r in responses}
    assert len(ids) == 1
    assert len((await (await client.get("/transfers")).json())["transfers"]) == 1


async def test_without_key_each_post_executes(client: TestClient[Any, Any]) -> None:
    body = {"from_account": "A1", "to_account": "A2", "amount": 1}
    for _ in range(3):
        assert (await client.post("/transfers", json=body)).status == 201
    assert len((await (await client.get("/transfers")).json())["transfers"]) == 3


async def test_fault_500_for_count_requests(client: TestClient[Any, Any]) -> None:
    resp = await client.post("/_faults", json={"mode": "500", "count": 2})
    assert resp.status == 200
    assert [(await client.get("/accounts/A1")).status for _ in range(3)] == [500, 500, 200]


async def test_fault_path_prefix(client: TestClient[Any, Any]) -> None:
    await client.post("/_faults", json={"mode": "500", "count": 1, "path": "/transfers"})
    assert (await client.get("/accounts/A1")).status == 200
    body = {"from_account": "A1", "to_account": "A2", "amount": 1}
    assert (await client.post("/transfers", json=body)).status == 500
    assert (await client.post("/transfers", json=body)).status == 201
    # a fault before the handler: the failed attempt moved no money
    assert len((await (await client.get("/transfers")).json())["transfers"]) == 1


async def test_fault_bad_json(client: TestClient[Any, Any]) -> None:
    await client.post("/_faults", json={"mode": "bad_json"})
    resp = await client.get("/accounts/A1/balance")
    assert resp.status == 200
    with pytest.raises(ValueError):
        await resp.json()
    assert (await (await client.get("/accounts/A1/balance")).json())["balance"] == 1000.0


async def test_fault_timeout_makes_the_client_time_out(client: TestClient[Any, Any]) -> None:
    await client.post("/_faults", json={"mode": "timeout", "path": "/accounts"})
    start = time.perf_counter()
    with pytest.raises(asyncio.TimeoutError):
        await client.get("/accounts/A1", timeout=aiohttp.ClientTimeout(total=0.3))
    assert time.perf_counter() - start < 5
    assert (await client.get("/accounts/A1")).status == 200  # count defaults to 1


async def test_fault_after_execution_loses_the_reply_not_the_transfer(
    client: TestClient[Any, Any],
) -> None:
    await client.post(
        "/_faults", json={"mode": "500", "path": "/transfers", "after": True, "count": 1}
    )
    body = {"from_account": "A1", "to_account": "A2", "amount": 5}
    headers = {"Idempotency-Key": "lost-reply"}
    assert (await client.post("/transfers", json=body, headers=headers)).status == 500
    retry = await client.post("/transfers", json=body, headers=headers)
    assert retry.status == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert len((await (await client.get("/transfers")).json())["transfers"]) == 1


async def test_faults_none_clears_and_bad_modes_are_refused(client: TestClient[Any, Any]) -> None:
    await client.post("/_faults", json={"mode": "500", "count": 5})
    assert len((await (await client.get("/_faults")).json())["faults"]) == 1
    await client.post("/_faults", json={"mode": "none"})
    assert (await client.get("/accounts/A1")).status == 200
    assert (await client.post("/_faults", json={"mode": "explode"})).status == 422
    assert (await client.post("/_faults", json={"mode": "500", "count": "x"})).status == 422


async def test_requests_are_recorded_and_reset_restores(client: TestClient[Any, Any]) -> None:
    body = {"from_account": "A1", "to_account": "A2", "amount": 5}
    await client.post("/transfers", json=body, headers={"Idempotency-Key": "k"})
    await client.post("/_faults", json={"mode": "500", "count": 3})
    requests = (await (await client.get("/_requests")).json())["requests"]
    assert requests == [
        {"method": "POST", "path": "/transfers", "raw_path": "/transfers", "idempotency_key": "k"}
    ]
    assert (await client.post("/_reset")).status == 200
    assert (await (await client.get("/accounts/A1/balance")).json())["balance"] == 1000.0
    assert (await (await client.get("/transfers")).json())["transfers"] == []
    assert (
        await client.post("/transfers", json=body, headers={"Idempotency-Key": "k"})
    ).status == 201
    assert len((await (await client.get("/transfers")).json())["transfers"]) == 1


def test_service_runs_as_a_module() -> None:
    import json
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "statechat_banking.service",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/A3", timeout=2
                ) as r:
                    assert json.load(r)["owner"] == "alice"
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
