"""Fixtures for the store tests (helpers in ``tests/stores/helpers.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from statechat_banking.service import make_app

from statechat import Bot
from tests.stores.helpers import (
    FLOWS,
    MFA_CODE,
    SHARED_KINDS,
    STORE_KINDS,
    BankClient,
    Worker,
    store_url_for,
)


@pytest.fixture(params=STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store of each kind."""
    return store_url_for(request.param, request, tmp_path)


@pytest.fixture(params=SHARED_KINDS)
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store of each kind several processes can share (short lock expiry)."""
    return store_url_for(request.param, request, tmp_path, lock_timeout=1)


@pytest.fixture
async def bank(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    monkeypatch: pytest.MonkeyPatch,
) -> BankClient:
    """A fresh mock bank; the banking plugin (only it) is pointed at it, here and in workers."""
    server = await aiohttp_server(make_app())
    client = BankClient(server)
    monkeypatch.setenv("CORE_BANKING_URL", client.url)
    monkeypatch.setenv("STATECHAT_LOAD_PLUGINS", "banking")
    monkeypatch.setenv("STATECHAT_BANKING_MFA_CODE", MFA_CODE)
    monkeypatch.delenv("CORE_BANKING_TOKEN", raising=False)
    return client


@pytest.fixture
async def make_bot() -> AsyncIterator[Callable[..., Bot]]:
    """Build demo bots (``flows/``) on a store URL; all are closed after the test."""
    bots: list[Bot] = []

    def make(store: str, source: Path = FLOWS) -> Bot:
        bot = Bot.from_path(source, store=store)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.close()


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[Callable[[str], Awaitable[Worker]]]:
    """Start bot worker processes on a store URL (ready when returned); all end after the test."""
    started: list[Worker] = []

    count = 0

    async def start(store_url: str) -> Worker:
        nonlocal count
        count += 1
        worker = await Worker.start(store_url, tmp_path / f"worker{count}.log")
        started.append(worker)
        return await worker.ready()

    yield start
    for worker in started:
        if worker.process.returncode is None:
            worker.kill()
        await worker.close()


@pytest.fixture
def no_plugin_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only the built-in plugins and the test's own load (no bank needed)."""
    monkeypatch.setenv("STATECHAT_LOAD_PLUGINS", "")
    yield
