"""Built-in session stores, registered by URL scheme like any plugin's.

The store modules are imported only when a bot uses them (``redis`` pulls in redis-py).
"""

from __future__ import annotations

from typing import Any

from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.registry import Register


def _memory(url: str, **options: Any) -> Any:
    from statechat.stores.memory import MemoryStore

    return MemoryStore(url)


def _sqlite(url: str, **options: Any) -> Any:
    from statechat.stores.sqlite import SqliteStore

    return SqliteStore(url, **options)


def _redis(url: str, **options: Any) -> Any:
    from statechat.stores.redis import RedisStore

    return RedisStore(url, **options)


@hookimpl(trylast=True)
def register_stores(register: Register) -> None:
    """``memory://`` (this process only), ``sqlite:///path.db`` (embedded default, one file
    shared by the processes on a machine), ``redis://host:port/db`` and ``rediss://`` (shared by
    every bot process)."""
    register("memory", _memory)
    register("sqlite", _sqlite)
    register("redis", _redis)
    register("rediss", _redis)
