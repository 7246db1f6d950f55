"""Fixtures for runtime tests: the real mock bank on loopback and bots built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from statechat_banking.service import make_app

from statechat import Bot
from statechat.compiler.schema import BotConfig

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
MFA_CODE = "424242"


class Bank:
    """The mock core bank served on 127.0.0.1, with helpers to inspect and break it."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.url = str(server.make_url("")).rstrip("/")

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with ClientSession() as http, http.request(method, self.url + path, json=body) as r:
            return await r.json()

    async def transfers(self) -> list[dict[str, Any]]:
        data = await self._call("GET", "/transfers")
        return list(data["transfers"] if isinstance(data, dict) else data)

    async def requests(self) -> list[dict[str, Any]]:
        data = await self._call("GET", "/_requests")
        return list(data["requests"] if isinstance(data, dict) else data)

    async def fault(self, mode: str, count: int = 1, path: str | None = None, **extra: Any) -> None:
        body: dict[str, Any] = {"mode": mode, "count": count, **extra}
        if path:
            body["path"] = path
        await self._call("POST", "/_faults", body)


@pytest.fixture
async def bank(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Bank:
    """A fresh mock bank; the banking plugin is pointed at it (and only it is loaded)."""
    server = await aiohttp_server(make_app())
    b = Bank(server)
    monkeypatch.setenv("CORE_BANKING_URL", b.url)
    monkeypatch.setenv("STATECHAT_LOAD_PLUGINS", "banking")
    monkeypatch.setenv("STATECHAT_BANKING_MFA_CODE", MFA_CODE)
    monkeypatch.setenv("STATECHAT_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    return b


@pytest.fixture
async def make_bot() -> AsyncIterator[Callable[..., Bot]]:
    """Build bots (memory store unless told otherwise); all are closed after the test."""
    bots: list[Bot] = []

    def make(
        source: Any = FLOWS,
        *,
        store: Any = "memory://",
        plugins: tuple[Any, ...] = (),
        config: BotConfig | None = None,
        entry_points: bool = True,
    ) -> Bot:
        if isinstance(source, list):
            bot = Bot.from_workflows(
                source, config=config, store=store, plugins=plugins, entry_points=entry_points
            )
        else:
            bot = Bot.from_path(source, store=store, plugins=plugins)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.close()


async def converse(bot: Bot, session: str, *texts: str, user: str = "u1") -> list[Any]:
    """Send messages in order; the turn results."""
    return [await bot.handle_message(session, user, t) for t in texts]
