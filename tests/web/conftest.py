"""Fixtures for the web tests: the demo bot against the real mock bank, served by aiohttp.

Everything is real: the ``flows/`` bot compiled with its plugins found through entry points,
the ``statechat_banking.service`` mock bank on 127.0.0.1, ``statechat.aiohttp.setup`` on an
``aiohttp`` application driven by ``aiohttp_client``.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from statechat_banking.service import BANK_KEY, Bank, make_app

import statechat.aiohttp as sa
from statechat import Bot

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
WEBHOOK_SECRET = "test-webhook-secret"

#: The banking script and what the bot says after each message.
BANKING_SCRIPT = [
    ("transfer 100", "Which account would you like to transfer from?", "get_from_account"),
    ("A1", "Which account should receive the money?", "get_to_account"),
    ("A2", "Transfer $100 from A1 to A2? (yes/no)", "confirm_transfer"),
    ("yes", "Done! $100 was sent from A1 to A2.", None),
]

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No plugin filter or bank settings from outside; the audit trail goes to tmp_path."""
    for name in (
        "STATECHAT_LOAD_PLUGINS",
        "CORE_BANKING_URL",
        "CORE_BANKING_TOKEN",
        "STATECHAT_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STATECHAT_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    yield


@pytest.fixture
async def bank_server(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> TestServer:
    """The mock core-banking service with its default accounts, on 127.0.0.1."""
    return await aiohttp_server(make_app())


@pytest.fixture
def bank(bank_server: TestServer) -> Bank:
    """The mock bank's state (accounts, executed transfers)."""
    return bank_server.app[BANK_KEY]


@pytest.fixture
def bot(bank_server: TestServer, monkeypatch: pytest.MonkeyPatch) -> Bot:
    """The demo bot (``flows/``) with a memory store, talking to the mock bank."""
    monkeypatch.setenv("CORE_BANKING_URL", str(bank_server.make_url("/")).rstrip("/"))
    return Bot.from_path(FLOWS, store="memory://")


def make_web_app(bot: Bot, **options: Any) -> web.Application:
    """An application with the bot mounted (small body limit to test 413)."""
    app = web.Application(client_max_size=options.pop("client_max_size", 64 * 1024))
    sa.setup(app, bot, **options)
    return app


@pytest.fixture
async def client(aiohttp_client: ClientFactory, bot: Bot) -> TestClient[Any, Any]:
    """A test client of an application serving the demo bot."""
    return await aiohttp_client(make_web_app(bot))


WEBHOOK_FLOW = textwrap.dedent(
    """\
    workflow_id: card
    name: Card
    trigger_intent: order_card
    steps:
      - id: reason
        type: slot_fill
        slot: reason
        prompt: Why do you need a new card?
        next_step: wait
      - id: wait
        type: webhook
        event: shipped
        response_text: "Ordered. I'll tell you when it ships."
        response_mapping: {tracking: tracking}
        next_step: done
      - id: done
        type: response
        response_text: "Shipped: {tracking}"
    """
)


def write_bot(directory: Path, config: str, **flows: str) -> Path:
    """A bot directory with ``statechat.yaml`` and one YAML file per workflow."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "statechat.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    for name, text in flows.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def webhook_bot_dir(tmp_path: Path) -> Path:
    """A bot whose workflow waits for a signed ``shipped`` callback."""
    return write_bot(
        tmp_path / "card_bot",
        f"""\
        intents:
          order_card:
            patterns: ['(?i)\\bcard\\b']
        webhooks:
          secret: {WEBHOOK_SECRET}
          tolerance_seconds: 60
        """,
        card=WEBHOOK_FLOW,
    )


@pytest.fixture
async def webhook_client(
    aiohttp_client: ClientFactory, webhook_bot_dir: Path
) -> AsyncIterator[TestClient[Any, Any]]:
    """A client of the webhook bot, with session ``s1`` waiting for the ``shipped`` event."""
    bot = Bot.from_path(webhook_bot_dir, store="memory://")
    client = await aiohttp_client(make_web_app(bot))
    for text in ("I need a new card", "lost"):
        resp = await client.post(
            "/api/v1/sessions/s1/messages", json={"text": text, "user_id": "u1"}
        )
        assert resp.status == 200, await resp.text()
    data = await (await client.get("/api/v1/sessions/s1")).json()
    assert data["waiting_for"] == "event:shipped", data
    yield client
