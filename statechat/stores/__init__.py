"""Session stores: ``memory://``, ``sqlite:///path`` (embedded default), ``redis://host:port/db``."""

from __future__ import annotations

from statechat.errors import UsageError
from statechat.plugins.registry import Registry
from statechat.stores.base import Store

DEFAULT_STORE = "sqlite:///statechat.db"

__all__ = ["DEFAULT_STORE", "Store", "open_store"]


def open_store(url: str | Store, registry: Registry) -> Store:
    """The store for a URL, from the stores plugins registered by scheme (or a Store as is).

    Raises:
        UsageError: the URL has no registered scheme.
    """
    if isinstance(url, Store):
        return url
    scheme = url.split("://", 1)[0] if "://" in url else ""
    factory = registry.find("stores", scheme)
    if factory is None:
        known = ", ".join(f"{s}://" for s in registry.names("stores"))
        raise UsageError(f"unknown store URL {url!r}: known schemes are {known}", code="bad_store")
    store: Store = factory.value(url)
    return store
