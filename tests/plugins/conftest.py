"""Fixtures for the plugin tests: a clean plugin environment and a real mock bank on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from statechat_banking.service import make_app

from statechat.machines.context import ExecutionContext
from statechat.plugins.manager import PluginSet, get_plugin_manager

PLUGIN_ENV = (
    "STATECHAT_LOAD_PLUGINS",
    "CORE_BANKING_URL",
    "CORE_BANKING_TOKEN",
    "STATECHAT_BANKING_MFA_CODE",
    "STATECHAT_BANKING_MFA_SECRET",
)


@pytest.fixture(autouse=True)
def clean_plugin_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No plugin filter or bank settings from the outside; the audit trail goes to tmp_path."""
    for name in PLUGIN_ENV:
        monkeypatch.delenv(name, raising=False)
    audit = tmp_path / "audit.jsonl"
    monkeypatch.setenv("STATECHAT_AUDIT_LOG", str(audit))
    yield audit


@pytest.fixture
async def bank_server(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> TestServer:
    """The mock core-banking service with its default accounts, served on 127.0.0.1."""
    return await aiohttp_server(make_app())


class Banking:
    """A plugin set built against the mock bank, and contexts wired to its integrations."""

    def __init__(self, plugins: PluginSet, server: TestServer) -> None:
        self.plugins = plugins
        self.server = server
        self.integrations = plugins.registry.values("integrations")

    def ctx(
        self, user_id: str = "u1", variables: dict[str, Any] | None = None
    ) -> ExecutionContext:
        """An execution context for ``user_id`` with the bot's integrations."""
        return ExecutionContext(
            "s1",
            user_id,
            variables if variables is not None else {},
            integrations=self.integrations,
        )

    def get(self, kind: Any, name: str) -> Any:
        """A contribution by kind and name."""
        return self.plugins.registry.get(kind, name)

    @property
    def bank(self) -> Any:
        """The mock bank's state."""
        from statechat_banking.service import BANK_KEY

        return self.server.app[BANK_KEY]


@pytest.fixture
async def banking(
    bank_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Banking]:
    """Plugins loaded through entry points with ``CORE_BANKING_URL`` pointing at the mock bank."""
    monkeypatch.setenv("CORE_BANKING_URL", str(bank_server.make_url("/")).rstrip("/"))
    plugins = get_plugin_manager()
    yield Banking(plugins, bank_server)
    for integration in plugins.registry.values("integrations").values():
        close = getattr(integration, "close", None)
        if close is not None:
            await close()
