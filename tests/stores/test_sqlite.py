"""The SQLite store: URLs, file settings, its own thread, expiry sweeps, schema versions."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from statechat import Bot
from statechat.errors import StoreError, UsageError
from statechat.stores import DEFAULT_STORE
from statechat.stores.sqlite import SCHEMA_VERSION, SqliteStore, parse_url
from tests.stores.helpers import FLOWS, BankClient, eventually


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(f"sqlite:///{tmp_path / 'db' / 'sessions.db'}")
    await s.open()
    yield s
    await s.close()


def test_urls() -> None:
    assert parse_url("sqlite:///statechat.db") == ("statechat.db", {})
    assert parse_url("sqlite:///data/bot.db") == ("data/bot.db", {})
    assert parse_url("sqlite:////var/lib/bot.db") == ("/var/lib/bot.db", {})
    assert parse_url("sqlite:///:memory:") == (":memory:", {})
    assert parse_url("sqlite:///my%20bot.db?lock_timeout=5&sweep_every=10") == (
        "my bot.db",
        {"lock_timeout": 5.0, "sweep_every": 10},
    )
    for bad in ("sqlite://", "sqlite:///", "sqlite://host/x.db", "sqlite:///x.db?nope=1",
                "sqlite:///x.db?lock_timeout=soon"):
        with pytest.raises(UsageError):
            parse_url(bad)
    with pytest.raises(UsageError):
        SqliteStore("sqlite:///x.db?lock_timeout=0")
    store = SqliteStore("sqlite:///x.db?lock_timeout=4&lock_wait=9&busy_timeout=2")
    assert (store.lock_timeout, store.lock_wait, store.busy_timeout) == (4.0, 9.0, 2.0)


async def test_relative_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = SqliteStore("sqlite:///sub/dir/sessions.db")
    await store.save("s1", {"turn": 1}, expected_turn=None)  # opens on first use
    await store.close()
    assert (tmp_path / "sub" / "dir" / "sessions.db").is_file()


async def test_memory_database_lives_as_long_as_the_store() -> None:
    store = SqliteStore("sqlite:///:memory:")
    await store.save("s1", {"turn": 1}, expected_turn=None)
    assert await store.load("s1") == {"turn": 1}
    await store.close()
    assert await store.load("s1") is None  # reopened: a new, empty database
    await store.close()


async def test_default_store_of_a_bot_is_sqlite_in_the_working_directory(
    bank: BankClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bot = Bot.from_path(FLOWS)
    try:
        assert isinstance(bot.store, SqliteStore) and bot.store.url == DEFAULT_STORE
        turn = await bot.handle_message("s1", "u1", "transfer 10")
        assert turn.responses == ["Which account would you like to transfer from?"]
    finally:
        await bot.close()
    assert (tmp_path / "statechat.db").is_file()
    with sqlite3.connect(tmp_path / "statechat.db") as db:
        (data,) = db.execute("SELECT data FROM sessions WHERE session_id = 's1'").fetchone()
    assert '"turn":1' in data and '"waiting_for":"from_account"' in data  # readable JSON text


async def test_wal_and_connection_settings(store: SqliteStore) -> None:
    def settings() -> tuple[str, int, int, str]:
        db = store._db()
        return (
            db.execute("PRAGMA journal_mode").fetchone()[0],
            db.execute("PRAGMA synchronous").fetchone()[0],
            db.execute("PRAGMA busy_timeout").fetchone()[0],
            threading.current_thread().name,
        )

    journal, synchronous, busy, thread = await store._run(settings)
    assert journal == "wal"
    assert synchronous == 1  # NORMAL
    assert busy == 5000
    assert thread.startswith("statechat-sqlite") and thread != threading.current_thread().name
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "locks"} <= tables


async def test_sweep_removes_expired_rows(store: SqliteStore) -> None:
    await store.save("old", {"turn": 1}, expected_turn=None, ttl=0.001)
    await store.save("new", {"turn": 1}, expected_turn=None, ttl=600)
    assert await store._acquire_lease("crashed", "dead", 0.001)

    def rows() -> int:
        with sqlite3.connect(store.path) as db:
            return int(db.execute("SELECT count(*) FROM sessions").fetchone()[0]) + int(
                db.execute("SELECT count(*) FROM locks").fetchone()[0]
            )

    async def gone() -> bool:  # expired: invisible, though still stored
        return await store.load("old") is None

    await eventually(gone)
    assert rows() == 3
    assert await store.sweep() == 1
    assert rows() == 1
    assert await store.sessions() == ["new"]


async def test_sweep_runs_every_n_saves(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 's.db'}?sweep_every=5")
    try:
        await store.save("old", {"turn": 1}, expected_turn=None, ttl=0.001)
        async def gone() -> bool:
            return await store.load("old") is None

        await eventually(gone)
        for turn in range(1, 5):
            await store.save("s", {"turn": turn}, expected_turn=turn - 1 if turn > 1 else None)
        with sqlite3.connect(store.path) as db:
            count = db.execute("SELECT count(*) FROM sessions WHERE session_id='old'").fetchone()
        assert count == (0,)  # swept by the fifth save
    finally:
        await store.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SqliteStore(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="newer statechat"):
        await store.open()
    await store.close()


async def test_unusable_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db"
    path.write_bytes(b"this is not a database" * 100)
    store = SqliteStore(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="sqlite store"):
        await store.load("s1")
    await store.close()
