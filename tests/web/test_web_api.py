"""The HTTP API of ``statechat.aiohttp``: every route, every bad-input case, the seed's routes."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient
from conftest import BANKING_SCRIPT, ClientFactory, make_web_app
from statechat_banking.service import Bank

import statechat.aiohttp as sa
from statechat import Bot
from statechat.stores.memory import MemoryStore

API = "/api/v1"
MESSAGES = f"{API}/sessions/s1/messages"


async def _json(resp: Any) -> Any:
    return json.loads(await resp.text())


async def _error(resp: Any, status: int, code: str) -> str:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await _json(resp)
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    assert isinstance(message, str) and message
    assert "Traceback" not in message
    return message


async def _say(client: TestClient[Any, Any], text: str, session: str = "s1") -> dict[str, Any]:
    resp = await client.post(
        f"{API}/sessions/{session}/messages", json={"text": text, "user_id": "u1"}
    )
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await _json(resp)
    return data


# --------------------------------------------------------------------------- conversations


async def test_banking_conversation_over_http(client: TestClient[Any, Any], bank: Bank) -> None:
    for text, reply, step in BANKING_SCRIPT:
        turn = await _say(client, text)
        assert turn["responses"][0].startswith(reply), turn
        assert turn["state"] == (f"banking_transfer_v1.{step}" if step else None)
    assert turn["completed"] is True
    assert turn["variables"]["transaction_id"].startswith("TX-")
    assert [(t["from_account"], t["to_account"], t["amount"]) for t in bank.transfers] == [
        ("A1", "A2", 100.0)
    ]
    session = await _json(await client.get(f"{API}/sessions/s1"))
    assert session["turn"] == 4 and session["state"] is None and session["stack"] == []
    steps = [h["step"] for h in session["history"]]
    assert "execute_transfer" in steps and "transfer_complete" in steps


async def test_banking_conversation_over_websocket(
    client: TestClient[Any, Any], bank: Bank
) -> None:
    async with client.ws_connect(f"{API}/orchestrator/ws/w1?user_id=u9") as ws:
        for text, reply, step in BANKING_SCRIPT:
            await ws.send_json({"text": text})
            turn = await ws.receive_json(timeout=10)
            assert turn["session_id"] == "w1"
            assert turn["responses"][0].startswith(reply), turn
            assert turn["state"] == (f"banking_transfer_v1.{step}" if step else None)
    assert turn["completed"] is True
    assert len(bank.transfers) == 1
    session = await _json(await client.get(f"{API}/sessions/w1"))
    assert session["user_id"] == "u9"


async def test_websocket_bad_messages_get_errors_not_a_close(client: TestClient[Any, Any]) -> None:
    async with client.ws_connect(f"{API}/orchestrator/ws/w2") as ws:
        await ws.send_str("{not json")
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "bad_json"
        await ws.send_str("[1, 2]")
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "bad_request"
        await ws.send_json({"user_id": "u1"})
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "missing_field"
        await ws.send_json({"text": 5})
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "bad_field"
        await ws.send_json({"text": "hi", "entities": []})
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "bad_field"
        await ws.send_json({"text": "hi", "colour": "red"})
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "unknown_field"
        await ws.send_json({"text": "x" * 4001})
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "message_too_long"
        await ws.send_json({"text": "hi", "workflow_id": "nope"})
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "unknown_workflow"
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "bad_json"
        # still open and working
        await ws.send_json({"text": "transfer 50", "user_id": "u1"})
        turn = await ws.receive_json(timeout=10)
        assert turn["state"] == "banking_transfer_v1.get_from_account"
        assert not ws.closed


async def test_websocket_unexpected_error_is_an_error_message(
    client: TestClient[Any, Any], bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(bot, "handle_message", boom)
    async with client.ws_connect(f"{API}/orchestrator/ws/w3") as ws:
        await ws.send_json({"text": "hi"})
        reply = await ws.receive_json(timeout=5)
    assert reply == {"error": {"code": "internal_error", "message": "internal server error"}}


async def test_websocket_rejects_a_bad_session_id_before_upgrading(
    client: TestClient[Any, Any],
) -> None:
    resp = await client.get(f"{API}/orchestrator/ws/{'x' * 201}")
    await _error(resp, 400, "bad_session_id")
    resp = await client.get(f"{API}/orchestrator/ws/plain-get")  # no upgrade headers
    assert resp.status == 400 and resp.content_type == "application/json"


async def test_websocket_closed_on_shutdown(aiohttp_client: ClientFactory, bot: Bot) -> None:
    app = make_web_app(bot)
    client = await aiohttp_client(app)
    ws = await client.ws_connect(f"{API}/orchestrator/ws/w4")
    await client.close()  # server shutdown runs on_shutdown -> the socket is closed
    msg = await ws.receive(timeout=5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)


# --------------------------------------------------------------------------- seed routes


async def test_execute_route_with_the_seeds_fields(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        f"{API}/orchestrator/execute",
        json={
            "workflow_id": "banking_transfer_v1",
            "intent": "transfer_money",
            "entities": {"amount": 250},
            "text": "I want to send money",
            "session_id": "e1",
            "user_id": "u1",
        },
    )
    assert resp.status == 200, await resp.text()
    out = await _json(resp)
    assert out["response"] == "Which account would you like to transfer from?"
    assert out["completed"] is False
    assert out["context"]["amount"] == 250
    assert out["context"] == out["variables"]
    assert out["state"] == "banking_transfer_v1.get_from_account"
    # later turns of the same session continue the workflow
    resp = await client.post(
        f"{API}/orchestrator/execute",
        json={
            "workflow_id": "banking_transfer_v1",
            "text": "A1",
            "session_id": "e1",
            "user_id": "u1",
        },
    )
    assert (await _json(resp))["response"] == "Which account should receive the money?"


async def test_execute_route_starts_the_workflow_without_an_intent(
    client: TestClient[Any, Any],
) -> None:
    resp = await client.post(
        f"{API}/orchestrator/execute",
        json={
            "workflow_id": "banking_transfer_v1",
            "text": "hello",
            "session_id": "e2",
            "user_id": "u1",
            "context": {"amount": 30},
        },
    )
    out = await _json(resp)
    assert out["state"] == "banking_transfer_v1.get_from_account", out
    assert out["context"]["amount"] == 30


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"session_id": "e3", "user_id": "u1", "text": "hi"}, 400, "missing_field"),
        ({"workflow_id": "banking_transfer_v1", "user_id": "u1"}, 400, "missing_field"),
        ({"workflow_id": "banking_transfer_v1", "session_id": "e3"}, 400, "missing_field"),
        ({"workflow_id": 7, "session_id": "e3", "user_id": "u1"}, 400, "bad_field"),
        (
            {
                "workflow_id": "banking_transfer_v1",
                "session_id": "e3",
                "user_id": "u1",
                "entities": 1,
            },
            400,
            "bad_field",
        ),
        (
            {
                "workflow_id": "banking_transfer_v1",
                "session_id": "e3",
                "user_id": "u1",
                "context": [],
            },
            400,
            "bad_field",
        ),
        (
            {"workflow_id": "banking_transfer_v1", "session_id": "e3", "user_id": "u1", "x": 1},
            400,
            "unknown_field",
        ),
        ({"workflow_id": "nope", "session_id": "e3", "user_id": "u1"}, 404, "unknown_workflow"),
        (
            {"workflow_id": "banking_transfer_v1", "session_id": "", "user_id": "u1"},
            400,
            "bad_session_id",
        ),
    ],
)
async def test_execute_route_bad_input(
    client: TestClient[Any, Any], body: dict[str, Any], status: int, code: str
) -> None:
    await _error(await client.post(f"{API}/orchestrator/execute", json=body), status, code)
    assert (await client.get(f"{API}/sessions/e3")).status == 404  # nothing was written


# --------------------------------------------------------------------------- messages: bad input


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"{not json", 400, "bad_json"),
        (b"", 400, "bad_json"),
        (b"\xff\xfe", 400, "bad_json"),
        (b"[" * 30_000 + b"]" * 30_000, 400, "bad_json"),
        (b"[1, 2]", 400, "bad_request"),
        (b'"text"', 400, "bad_request"),
        (b'{"user_id": "u1"}', 400, "missing_field"),
        (b'{"text": "hi"}', 400, "missing_field"),
        (b'{"text": null, "user_id": "u1"}', 400, "missing_field"),
        (b'{"text": 12, "user_id": "u1"}', 400, "bad_field"),
        (b'{"text": "hi", "user_id": ["u1"]}', 400, "bad_field"),
        (b'{"text": "hi", "user_id": "u1", "intent": 3}', 400, "bad_field"),
        (b'{"text": "hi", "user_id": "u1", "entities": "amount=5"}', 400, "bad_field"),
        (b'{"text": "hi", "user_id": "u1", "workflow_id": false}', 400, "bad_field"),
        (b'{"text": "hi", "user_id": "u1", "txet": "typo"}', 400, "unknown_field"),
        (b'{"text": "hi", "user_id": "u1", "workflow_id": "nope"}', 404, "unknown_workflow"),
        (b'{"text": "hi", "user_id": "' + b"u" * 201 + b'"}', 400, "bad_user_id"),
    ],
)
async def test_message_bad_input(
    client: TestClient[Any, Any], data: bytes, status: int, code: str
) -> None:
    resp = await client.post(MESSAGES, data=data, headers={"Content-Type": "application/json"})
    await _error(resp, status, code)
    assert (await client.get(f"{API}/sessions/s1")).status == 404  # nothing was written


async def test_message_text_over_the_limit_is_413(client: TestClient[Any, Any]) -> None:
    message = await _error(
        await client.post(MESSAGES, json={"text": "x" * 4001, "user_id": "u1"}),
        413,
        "message_too_long",
    )
    assert "4000" in message


async def test_body_over_client_max_size_is_413(client: TestClient[Any, Any]) -> None:
    body = json.dumps({"text": "x" * 70_000, "user_id": "u1"})
    await _error(await client.post(MESSAGES, data=body), 413, "body_too_large")
    await _error(
        await client.post(f"{API}/orchestrator/execute", data=body), 413, "body_too_large"
    )


async def test_bad_session_id_in_the_path(client: TestClient[Any, Any]) -> None:
    long_id = "s" * 201
    await _error(
        await client.post(
            f"{API}/sessions/{long_id}/messages", json={"text": "hi", "user_id": "u1"}
        ),
        400,
        "bad_session_id",
    )
    await _error(await client.get(f"{API}/sessions/{long_id}"), 400, "bad_session_id")


async def test_message_with_intent_and_entities_overrides(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        MESSAGES,
        json={
            "text": "please",
            "user_id": "u1",
            "intent": "transfer_money",
            "entities": {"amount": 75},
        },
    )
    turn = await _json(resp)
    assert turn["intent"] == "transfer_money"
    assert turn["variables"]["amount"] == 75
    assert turn["state"] == "banking_transfer_v1.get_from_account"


async def test_message_with_workflow_id_starts_that_workflow(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        MESSAGES, json={"text": "hi", "user_id": "u1", "workflow_id": "banking_transfer_v1"}
    )
    assert (await _json(resp))["state"] == "banking_transfer_v1.get_amount"


# --------------------------------------------------------------------------- sessions


async def test_get_session(client: TestClient[Any, Any]) -> None:
    await _say(client, "transfer 100")
    data = await _json(await client.get(f"{API}/sessions/s1"))
    assert data["state"] == "banking_transfer_v1.get_from_account"
    assert data["waiting_for"] == "from_account"
    assert data["variables"]["amount"] == 100
    assert data["history"] and data["history"][0]["step"] == "authenticate"
    await _error(await client.get(f"{API}/sessions/unknown"), 404, "unknown_session")


# --------------------------------------------------------------------------- store and crashes


class BrokenStore(MemoryStore):
    """A store whose backend is down."""

    async def load(self, session_id: str) -> dict[str, Any] | None:
        raise ConnectionError("redis://10.0.0.1:6379 refused the connection")

    async def save(self, session_id: str, snapshot: dict[str, Any], **kwargs: Any) -> None:
        raise ConnectionError("refused")


async def test_store_down_is_503(aiohttp_client: ClientFactory, bot: Bot) -> None:
    broken = Bot(bot.compiled, BrokenStore())
    client = await aiohttp_client(make_web_app(broken))
    message = await _error(
        await client.post(MESSAGES, json={"text": "hi", "user_id": "u1"}), 503, "store_unavailable"
    )
    assert "10.0.0.1" not in message
    await _error(await client.get(f"{API}/sessions/s1"), 503, "store_unavailable")
    await _error(
        await client.get(f"{API}/flows/banking_transfer_v1/diagram.mmd?session_id=s1"),
        503,
        "store_unavailable",
    )
    async with client.ws_connect(f"{API}/orchestrator/ws/s1") as ws:
        await ws.send_json({"text": "hi"})
        assert (await ws.receive_json(timeout=5))["error"]["code"] == "store_unavailable"


async def test_unexpected_error_is_a_bare_json_500(
    client: TestClient[Any, Any],
    bot: Bot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(bot, "handle_message", boom)
    with caplog.at_level(logging.ERROR, logger="statechat.aiohttp"):
        resp = await client.post(MESSAGES, json={"text": "hi", "user_id": "u1"})
        message = await _error(resp, 500, "internal_error")
    assert "secret" not in message and "RuntimeError" not in await resp.text()
    assert any("secret internals" in r.getMessage() or r.exc_info for r in caplog.records)


async def test_unknown_route_and_wrong_method_are_json(client: TestClient[Any, Any]) -> None:
    await _error(await client.get(f"{API}/nothing/here"), 404, "not_found")
    resp = await client.delete(f"{API}/flows")
    await _error(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers.get("Allow", "")


# --------------------------------------------------------------------------- flows, diagrams


async def test_flows(client: TestClient[Any, Any], bot: Bot) -> None:
    flows = (await _json(await client.get(f"{API}/flows")))["flows"]
    by_id = {f["id"]: f for f in flows}
    assert set(by_id) == set(bot.workflows)
    banking = by_id["banking_transfer_v1"]
    assert banking["name"] == "Banking Transfer"
    assert banking["description"] == "Transfer money between the user's accounts"
    assert banking["trigger_intent"] == "transfer_money"
    assert banking["steps"] == len(bot.workflows["banking_transfer_v1"].workflow.steps) == 18
    assert banking["diagram"] == f"{API}/flows/banking_transfer_v1/diagram.svg"


@pytest.mark.parametrize(
    ("ext", "content_type", "needle"),
    [
        ("svg", "image/svg+xml", b"<svg"),
        ("dot", "text/vnd.graphviz", b"digraph"),
        ("mmd", "text/plain", b"stateDiagram-v2"),
        ("md", "text/markdown", b"| State"),
        ("png", "image/png", b"\x89PNG"),
    ],
)
async def test_diagram_formats(
    client: TestClient[Any, Any], ext: str, content_type: str, needle: bytes
) -> None:
    resp = await client.get(f"{API}/flows/banking_transfer_v1/diagram.{ext}")
    assert resp.status == 200, await resp.text()
    assert resp.content_type == content_type
    assert needle in await resp.read()


async def test_diagram_highlights_the_sessions_state(client: TestClient[Any, Any]) -> None:
    url = f"{API}/flows/banking_transfer_v1/diagram"
    plain = await (await client.get(f"{url}.mmd")).text()
    assert ":::active" not in plain
    await _say(client, "transfer 100")
    text = await (await client.get(f"{url}.mmd?session_id=s1")).text()
    assert "banking_transfer_v1__get_from_account:::active" in text
    svg = await (await client.get(f"{url}.svg?session_id=s1")).text()
    assert '<g id="banking_transfer_v1__get_from_account" class="node state active">' in svg
    await _say(client, "A1")
    svg = await (await client.get(f"{url}.svg?session_id=s1")).text()
    assert '<g id="banking_transfer_v1__get_to_account" class="node state active">' in svg
    assert 'id="banking_transfer_v1__get_from_account" class="node state">' in svg


async def test_diagram_bad_requests(client: TestClient[Any, Any]) -> None:
    await _error(await client.get(f"{API}/flows/nope/diagram.svg"), 404, "unknown_workflow")
    await _error(
        await client.get(f"{API}/flows/banking_transfer_v1/diagram.gif"), 404, "not_found"
    )
    await _error(
        await client.get(f"{API}/flows/banking_transfer_v1/diagram.svg?session_id=zz"),
        404,
        "unknown_session",
    )
    await _error(
        await client.get(f"{API}/flows/banking_transfer_v1/diagram.svg?session_id="),
        400,
        "bad_session_id",
    )


async def test_diagram_without_graphviz_is_503_with_the_fix(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("statechat.diagrams.graphviz_available", lambda: False)
    message = await _error(
        await client.get(f"{API}/flows/banking_transfer_v1/diagram.svg"), 503, "graphviz_missing"
    )
    assert "apt-get install graphviz" in message
    resp = await client.get(f"{API}/flows/banking_transfer_v1/diagram.mmd")
    assert resp.status == 200


# --------------------------------------------------------------------------- OpenAPI, page


async def test_openapi_describes_every_route(client: TestClient[Any, Any]) -> None:
    doc = await _json(await client.get(f"{API}/openapi.json"))
    assert doc["openapi"] == "3.1.0"
    expected = {
        ("post", f"{API}/orchestrator/execute"),
        ("get", f"{API}/orchestrator/ws/{{session_id}}"),
        ("post", f"{API}/sessions/{{session_id}}/messages"),
        ("get", f"{API}/sessions/{{session_id}}"),
        ("post", f"{API}/sessions/{{session_id}}/events/{{name}}"),
        ("get", f"{API}/flows"),
        ("get", f"{API}/flows/{{workflow_id}}/diagram.{{ext}}"),
        ("get", f"{API}/openapi.json"),
    }
    found = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert found == expected
    # every route the app serves under the prefix is described
    assert client.app is not None
    subapps = [
        res._app  # noqa: SLF001 - the mounted API application
        for res in client.app.router.resources()
        if isinstance(res, web.PrefixedSubAppResource)
    ]
    routes = {
        (r.method.lower(), r.resource.canonical.replace("{ext:[A-Za-z0-9]+}", "{ext}"))
        for sub in subapps
        for r in sub.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }
    assert routes == expected
    for ref in json.dumps(doc).split('"$ref": "')[1:]:
        name = ref.split('"', 1)[0].rsplit("/", 1)[-1]
        assert name in doc["components"]["schemas"]


async def test_web_page_and_static_files(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert 'data-api="/api/v1"' in page
    assert 'src="static/app.js"' in page and 'href="static/style.css"' in page
    assert "http://" not in page and "https://" not in page  # no CDN: works offline
    for name, ctype in (("app.js", "javascript"), ("style.css", "text/css")):
        resp = await client.get(f"/static/{name}")
        assert resp.status == 200 and ctype in resp.content_type


# --------------------------------------------------------------------------- setup, embedding


async def test_get_bot_before_and_after_setup(bot: Bot) -> None:
    app = web.Application()
    with pytest.raises(RuntimeError, match=r"statechat.aiohttp.setup\(app, bot\) must be called"):
        sa.get_bot(app)
    assert sa.setup(app, bot) is bot
    assert sa.get_bot(app) is bot
    assert app[sa.BOT_KEY] is bot


class CountingStore(MemoryStore):
    """Counts open/close calls."""

    opened = 0
    closed = 0

    async def open(self) -> None:
        self.opened += 1

    async def close(self) -> None:
        self.closed += 1


async def test_cleanup_ctx_opens_and_closes_the_bot(
    aiohttp_client: ClientFactory, bot: Bot
) -> None:
    store = CountingStore()
    counted = Bot(bot.compiled, store)
    client = await aiohttp_client(make_web_app(counted))
    assert store.opened == 1 and store.closed == 0
    await _say(client, "transfer 10")
    await client.close()
    assert store.closed == 1


async def test_embedding_with_prefix_and_host_routes(
    aiohttp_client: ClientFactory, bot: Bot
) -> None:
    async def host_home(request: web.Request) -> web.Response:
        return web.Response(text="host home")

    async def host_boom(request: web.Request) -> web.Response:
        raise web.HTTPForbidden(text="host says no")

    app = web.Application()
    app.router.add_get("/", host_home)
    app.router.add_get("/boom", host_boom)
    sa.setup(app, bot, prefix="/bot/api/", ui_path="/bot/")
    client = await aiohttp_client(app)
    assert await (await client.get("/")).text() == "host home"
    boom = await client.get("/boom")
    assert boom.status == 403 and await boom.text() == "host says no"  # not statechat's business
    page = await client.get("/bot/")
    assert 'data-api="/bot/api"' in await page.text()
    assert (await client.get("/bot/static/app.js")).status == 200
    redirect = await client.get("/bot", allow_redirects=False)
    assert redirect.status == 308 and redirect.headers["Location"] == "/bot/"
    resp = await client.post(
        "/bot/api/sessions/x/messages", json={"text": "transfer 5", "user_id": "u"}
    )
    assert (await _json(resp))["state"] == "banking_transfer_v1.get_from_account"
    assert (await client.get("/api/v1/flows")).status == 404


async def test_setup_without_page_and_bad_prefix(bot: Bot) -> None:
    app = web.Application()
    sa.setup(app, bot, ui_path=None)
    assert not any(r.resource and r.resource.canonical == "/" for r in app.router.routes())
    with pytest.raises(ValueError, match="prefix"):
        sa.setup(web.Application(), bot, prefix="/")


async def test_diagram_of_a_session_on_an_older_version(
    aiohttp_client: ClientFactory, webhook_bot_dir: Path
) -> None:
    bot = Bot.from_path(webhook_bot_dir, store="memory://")
    client = await aiohttp_client(make_web_app(bot))
    await _say(client, "I need a new card")  # waits in step 'reason' of version 1
    flow = webhook_bot_dir / "card.yaml"
    flow.write_text(flow.read_text().replace("reason", "why"))
    assert bot.reload() == ["card"]
    old = await (await client.get(f"{API}/flows/card/diagram.mmd?session_id=s1")).text()
    assert "card__reason:::active" in old and 'state "reason" as card__reason' in old
    new = await (await client.get(f"{API}/flows/card/diagram.mmd")).text()
    assert "card__why" in new and "card__reason" not in new
