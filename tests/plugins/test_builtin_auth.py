"""The built-in ``session`` auth provider."""

from __future__ import annotations

from typing import Any

import pytest

from statechat.machines.context import ExecutionContext
from statechat.plugins.manager import get_plugin_manager


@pytest.mark.parametrize(
    ("user_id", "status"),
    [
        ("alice", "verified"),
        ("u-123", "verified"),
        ("", "denied"),
        ("   ", "denied"),
        ("anonymous", "denied"),
        ("Anonymous", "denied"),
        (None, "denied"),
        (42, "denied"),
    ],
)
async def test_session_provider(user_id: Any, status: str) -> None:
    provider = get_plugin_manager(entry_points=False).registry.get("auth_providers", "session")
    result = await provider.verify_user(user_id, "session", ExecutionContext("s", str(user_id)))
    assert result.status == status
    if status == "verified":
        assert result.claims["user_id"] == user_id
    else:
        assert result.reason
