"""Built-in session stores, registered by URL scheme like any plugin's."""

from __future__ import annotations

from typing import Any

from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.registry import Register


def _memory(url: str, **options: Any) -> Any:
    from statechat.stores.memory import MemoryStore

    return MemoryStore(url)


@hookimpl(trylast=True)
def register_stores(register: Register) -> None:
    """``memory://`` (this process only)."""
    register("memory", _memory)
