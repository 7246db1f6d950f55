"""Signed webhook callbacks: ``POST /api/v1/sessions/{id}/events/{name}``.

Anything not validly signed, fresh and new gets 401 and leaves the session exactly as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from conftest import WEBHOOK_SECRET, ClientFactory, make_web_app, write_bot

import statechat.aiohttp as sa
from statechat import Bot, UsageError

EVENT = "/api/v1/sessions/s1/events/shipped"
BODY = json.dumps({"tracking": "TR-123"})


async def _session(client: TestClient[Any, Any]) -> dict[str, Any]:
    resp = await client.get("/api/v1/sessions/s1")
    assert resp.status == 200
    data: dict[str, Any] = await resp.json()
    return data


async def _refused(
    client: TestClient[Any, Any], headers: dict[str, str], code: str, body: str = BODY
) -> None:
    before = await _session(client)
    resp = await client.post(
        EVENT, data=body, headers={"Content-Type": "application/json", **headers}
    )
    assert resp.status == 401, await resp.text()
    assert (await resp.json())["error"]["code"] == code
    assert "WWW-Authenticate" in resp.headers
    assert await _session(client) == before  # nothing changed


def test_sign_follows_the_documented_scheme() -> None:
    headers = sa.sign("k", b'{"a":1}', timestamp=1700000000)
    digest = hmac.new(b"k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert headers == {
        "X-Statechat-Timestamp": "1700000000",
        "X-Statechat-Signature": f"sha256={digest}",
    }
    assert sa.sign("k", '{"a":1}', 1700000000) == headers  # str bodies are UTF-8
    assert abs(int(sa.sign("k", b"")["X-Statechat-Timestamp"]) - time.time()) < 5


def test_verify_signature() -> None:
    body = b'{"x": 1}'
    headers = sa.sign("secret", body, timestamp=1000)
    assert sa.verify_signature("secret", body, headers, tolerance=10, now=1005)
    with pytest.raises(UsageError) as err:
        sa.verify_signature("other", body, headers, tolerance=10, now=1005)
    assert (err.value.status, err.value.code) == (401, "signature_invalid")
    with pytest.raises(UsageError) as err:
        sa.verify_signature("secret", body + b" ", headers, tolerance=10, now=1005)
    assert err.value.code == "signature_invalid"
    with pytest.raises(UsageError) as err:
        sa.verify_signature("secret", body, headers, tolerance=10, now=1011)
    assert err.value.code == "signature_expired"
    with pytest.raises(UsageError) as err:
        sa.verify_signature("secret", body, {}, tolerance=10, now=1005)
    assert err.value.code == "signature_missing"


async def test_valid_callback_continues_the_workflow(
    webhook_client: TestClient[Any, Any],
) -> None:
    resp = await webhook_client.post(EVENT, data=BODY, headers=sa.sign(WEBHOOK_SECRET, BODY))
    assert resp.status == 200, await resp.text()
    turn = await resp.json()
    assert turn["responses"] == ["Shipped: TR-123"]
    assert turn["completed"] is True
    session = await _session(webhook_client)
    assert session["state"] is None and session["turn"] == 3


async def test_unsigned_callback_is_refused(webhook_client: TestClient[Any, Any]) -> None:
    await _refused(webhook_client, {}, "signature_missing")
    only_ts = {"X-Statechat-Timestamp": str(int(time.time()))}
    await _refused(webhook_client, only_ts, "signature_missing")


async def test_badly_signed_callback_is_refused(webhook_client: TestClient[Any, Any]) -> None:
    await _refused(webhook_client, sa.sign("wrong-secret", BODY), "signature_invalid")
    tampered = sa.sign(WEBHOOK_SECRET, BODY)
    await _refused(webhook_client, tampered, "signature_invalid", body=BODY.replace("123", "999"))
    good = sa.sign(WEBHOOK_SECRET, BODY)
    await _refused(
        webhook_client,
        {**good, "X-Statechat-Signature": good["X-Statechat-Signature"].replace("sha256", "sha1")},
        "signature_invalid",
    )
    await _refused(
        webhook_client, {**good, "X-Statechat-Timestamp": "yesterday"}, "signature_invalid"
    )
    # the signature covers the timestamp: moving it invalidates the signature
    moved = {**good, "X-Statechat-Timestamp": str(int(good["X-Statechat-Timestamp"]) + 1)}
    await _refused(webhook_client, moved, "signature_invalid")


async def test_stale_callback_is_refused(webhook_client: TestClient[Any, Any]) -> None:
    old = int(time.time()) - 61  # tolerance_seconds: 60 in the test bot
    await _refused(webhook_client, sa.sign(WEBHOOK_SECRET, BODY, old), "signature_expired")
    future = int(time.time()) + 120
    await _refused(webhook_client, sa.sign(WEBHOOK_SECRET, BODY, future), "signature_expired")


async def test_replayed_callback_is_refused(webhook_client: TestClient[Any, Any]) -> None:
    headers = sa.sign(WEBHOOK_SECRET, BODY)
    first = await webhook_client.post(EVENT, data=BODY, headers=headers)
    assert first.status == 200
    await _refused(webhook_client, headers, "signature_replayed")


async def test_signed_callback_for_an_idle_step_is_kept_for_later(
    webhook_client: TestClient[Any, Any],
) -> None:
    body = json.dumps({"note": "early"})
    other = "/api/v1/sessions/s1/events/other_event"
    resp = await webhook_client.post(other, data=body, headers=sa.sign(WEBHOOK_SECRET, body))
    assert resp.status == 200
    assert (await _session(webhook_client))["waiting_for"] == "event:shipped"


async def test_signed_but_invalid_json_is_400(webhook_client: TestClient[Any, Any]) -> None:
    before = await _session(webhook_client)
    body = "{nope"
    resp = await webhook_client.post(EVENT, data=body, headers=sa.sign(WEBHOOK_SECRET, body))
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_json"
    assert await _session(webhook_client) == before


async def test_signed_callback_for_an_unknown_session_is_404(
    webhook_client: TestClient[Any, Any],
) -> None:
    resp = await webhook_client.post(
        "/api/v1/sessions/nobody/events/shipped", data=BODY, headers=sa.sign(WEBHOOK_SECRET, BODY)
    )
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "unknown_session"


async def test_empty_signed_body_delivers_no_payload(webhook_client: TestClient[Any, Any]) -> None:
    resp = await webhook_client.post(EVENT, data=b"", headers=sa.sign(WEBHOOK_SECRET, b""))
    assert resp.status == 200, await resp.text()


async def test_without_a_secret_every_callback_is_refused(
    aiohttp_client: ClientFactory, tmp_path: Path, webhook_bot_dir: Path
) -> None:
    flow = (webhook_bot_dir / "card.yaml").read_text()
    bot_dir = write_bot(
        tmp_path / "nosecret", "intents: {order_card: {patterns: ['card']}}\n", card=flow
    )
    client = await aiohttp_client(make_web_app(Bot.from_path(bot_dir, store="memory://")))
    await client.post("/api/v1/sessions/s1/messages", json={"text": "card", "user_id": "u"})
    resp = await client.post(EVENT, data=BODY, headers=sa.sign("", BODY))
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "webhooks_disabled"


async def test_setup_secret_overrides_the_config(
    aiohttp_client: ClientFactory, webhook_bot_dir: Path
) -> None:
    bot = Bot.from_path(webhook_bot_dir, store="memory://")
    client = await aiohttp_client(make_web_app(bot, webhook_secret="from-setup"))
    for text in ("card", "lost"):
        await client.post("/api/v1/sessions/s1/messages", json={"text": text, "user_id": "u"})
    refused = await client.post(EVENT, data=BODY, headers=sa.sign(WEBHOOK_SECRET, BODY))
    assert refused.status == 401
    resp = await client.post(EVENT, data=BODY, headers=sa.sign("from-setup", BODY))
    assert resp.status == 200 and (await resp.json())["responses"] == ["Shipped: TR-123"]


def test_replay_guard_forgets_after_the_window_and_is_bounded() -> None:
    guard = sa._ReplayGuard(max_entries=2)
    assert guard.accept("a", window=10, now=100)
    assert not guard.accept("a", window=10, now=105)
    assert guard.accept("a", window=10, now=121)  # 2 x window later: stale anyway, forgotten
    assert guard.accept("b", window=10, now=122)
    assert guard.accept("c", window=10, now=123)  # evicts the oldest ("a")
    assert guard.accept("a", window=10, now=124)
    assert not guard.accept("c", window=10, now=124)
