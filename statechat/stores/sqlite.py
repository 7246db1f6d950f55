"""``sqlite:///path.db``: the embedded default store (stdlib :mod:`sqlite3`, one file, WAL).

URLs: ``sqlite:///relative/path.db`` (relative to the working directory),
``sqlite:////absolute/path.db``, ``sqlite:///:memory:`` (this process only). Query options:
``lock_timeout`` (seconds a session lease lives, default 30), ``lock_wait`` (seconds to wait for
another process's lease, default twice ``lock_timeout``), ``busy_timeout`` (seconds SQLite waits
for the write lock of the file, default 5), ``sweep_every`` (expired rows are removed every that
many saves, default 1000; 0 turns it off).

All database work runs on one dedicated thread that owns the connection, so the event loop never
blocks on disk I/O. Several processes may share one file: each save is a single compare-and-set
statement (atomic), and :meth:`SqliteStore.lock` holds a lease row that other processes respect.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from statechat.errors import ConflictError, StoreError, UsageError
from statechat.stores import codec
from statechat.stores.base import UNCHANGED
from statechat.stores.lease import DEFAULT_LOCK_TIMEOUT, NO_PEEK, LeasedStore, split_options

log = logging.getLogger("statechat.stores")

T = TypeVar("T")

#: ``PRAGMA user_version`` of the tables this module creates.
SCHEMA_VERSION = 1
DEFAULT_SWEEP_EVERY = 1000
DEFAULT_BUSY_TIMEOUT = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    turn       INTEGER NOT NULL,
    data       TEXT NOT NULL,
    updated    REAL NOT NULL,
    expires    REAL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS locks (
    session_id TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires    REAL NOT NULL
) WITHOUT ROWID;
"""

_LIVE = "(expires IS NULL OR expires > ?)"
_LOAD = f"SELECT data FROM sessions WHERE session_id = ? AND {_LIVE}"
_LOAD_IF_CHANGED = (
    "SELECT turn, CASE WHEN turn = ? THEN NULL ELSE data END FROM sessions "
    f"WHERE session_id = ? AND {_LIVE}"
)
_TURN = f"SELECT turn FROM sessions WHERE session_id = ? AND {_LIVE}"
_PEEK = f"SELECT turn, data FROM sessions WHERE session_id = ? AND {_LIVE}"
# expected_turn None: insert, or replace a row that has expired (still there until swept)
_INSERT = (
    "INSERT INTO sessions (session_id, turn, data, updated, expires) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (session_id) DO UPDATE SET turn = excluded.turn, data = excluded.data, "
    "updated = excluded.updated, expires = excluded.expires "
    "WHERE sessions.expires IS NOT NULL AND sessions.expires <= ?"
)
_UPDATE = (
    "UPDATE sessions SET turn = ?, data = ?, updated = ?, expires = ? "
    f"WHERE session_id = ? AND turn = ? AND {_LIVE}"
)
_ACQUIRE = (
    "INSERT INTO locks (session_id, owner, expires) VALUES (?, ?, ?) "
    "ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, expires = excluded.expires "
    "WHERE locks.expires <= ? OR locks.owner = excluded.owner"
)
_RENEW = "UPDATE locks SET expires = ? WHERE session_id = ? AND owner = ?"
_RELEASE = "DELETE FROM locks WHERE session_id = ? AND owner = ?"

_OPTIONS: dict[str, type] = {
    "lock_timeout": float,
    "lock_wait": float,
    "busy_timeout": float,
    "sweep_every": int,
}


def parse_url(url: str) -> tuple[str, dict[str, Any]]:
    """``sqlite:///a/b.db?lock_timeout=5`` -> ``("a/b.db", {"lock_timeout": 5.0})``.

    Raises:
        UsageError: not a ``sqlite:///`` URL, no path, or unknown / bad options.
    """
    base, options = split_options(url, _OPTIONS)
    if "?" in base:
        extra = base.split("?", 1)[1]
        raise UsageError(
            f"unknown sqlite store option(s) {extra!r}; known: {', '.join(_OPTIONS)}",
            code="bad_store",
        )
    prefix = "sqlite:///"
    if not base.startswith(prefix) or len(base) == len(prefix):
        raise UsageError(
            f"bad sqlite store URL {url!r}: use sqlite:///relative/path.db, "
            "sqlite:////absolute/path.db or sqlite:///:memory:",
            code="bad_store",
        )
    return unquote(base[len(prefix):]), options


class SqliteStore(LeasedStore):
    """Sessions in one SQLite file (or in memory), shared safely by the processes using it."""

    def __init__(
        self,
        url: str = "sqlite:///statechat.db",
        *,
        lock_timeout: float | None = None,
        lock_wait: float | None = None,
        busy_timeout: float | None = None,
        sweep_every: int | None = None,
    ) -> None:
        path, options = parse_url(url)
        super().__init__(
            lock_timeout=lock_timeout or options.get("lock_timeout", DEFAULT_LOCK_TIMEOUT),
            lock_wait=lock_wait if lock_wait is not None else options.get("lock_wait"),
        )
        self.url = url
        self.path = path
        """The database file (``:memory:`` for a private in-memory database)."""
        self.busy_timeout = float(
            busy_timeout if busy_timeout is not None
            else options.get("busy_timeout", DEFAULT_BUSY_TIMEOUT)
        )
        self.sweep_every = int(
            sweep_every if sweep_every is not None
            else options.get("sweep_every", DEFAULT_SWEEP_EVERY)
        )
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._saves = 0

    # ------------------------------------------------------------------ connection

    async def open(self) -> None:
        """Open the database on the store's thread, creating the file and tables if needed."""
        if self._executor is not None:
            return
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="statechat-sqlite"
        )
        try:
            await self._run(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    async def close(self) -> None:
        """Close the connection and stop the thread (an in-memory database is gone then)."""
        executor = self._executor
        if executor is None:
            return
        try:
            await self._run(self._disconnect)
        finally:
            self._executor = None
            executor.shutdown(wait=False)

    def _connect(self) -> None:
        # Several processes opening a new file at once race to switch it to WAL, and SQLite does
        # not call the busy handler for that: retry briefly.
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.005
        while True:
            try:
                return self._connect_once()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)  # on the store's own thread, never the event loop's
            delay = min(delay * 2, 0.1)

    def _connect_once(self) -> None:
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path if self.path == ":memory:" else str(Path(self.path).expanduser()),
            timeout=self.busy_timeout,
            isolation_level=None,  # autocommit: every statement is its own transaction
            check_same_thread=True,
        )
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if self.path != ":memory:" and str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer statechat (schema {version}, "
                    f"this one knows {SCHEMA_VERSION})"
                )
            conn.execute("BEGIN IMMEDIATE")
            for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            raise
        self._conn = conn
        self._sweep(time.time())

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the store's thread; SQLite errors become StoreErrors."""
        if self._executor is None:
            await self.open()
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except sqlite3.Error as exc:
            raise StoreError(
                f"sqlite store {self.path} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"sqlite store {self.path} is closed")
        return self._conn

    # ------------------------------------------------------------------ snapshots

    async def load(self, session_id: str) -> dict[str, Any] | None:
        """The stored snapshot; expired ones are invisible."""
        peek = self._take_peek(session_id)
        if peek is not NO_PEEK:  # read with the lease a moment ago
            return codec.loads(peek[1]) if peek is not None else None
        data = await self._run(self._load, session_id)
        return codec.loads(data) if data is not None else None

    def _load(self, session_id: str) -> str | None:
        row = self._db().execute(_LOAD, (session_id, time.time())).fetchone()
        return row[0] if row is not None else None

    async def load_if_changed(self, session_id: str, known_turn: int) -> Any:
        """``UNCHANGED`` when the stored turn is ``known_turn`` (the data is not even decoded)."""
        peek = self._take_peek(session_id)
        row = (
            peek if peek is not NO_PEEK
            else await self._run(self._load_if_changed, session_id, known_turn)
        )
        if row is not None and row[0] == known_turn:
            return UNCHANGED
        if row is None:
            return None
        if row[1] is None:
            return UNCHANGED
        return codec.loads(row[1])

    def _load_if_changed(self, session_id: str, known_turn: int) -> tuple[int, str | None] | None:
        args = (known_turn, session_id, time.time())
        row = self._db().execute(_LOAD_IF_CHANGED, args).fetchone()
        return (int(row[0]), row[1]) if row is not None else None

    async def save(
        self,
        session_id: str,
        snapshot: dict[str, Any],
        *,
        expected_turn: int | None,
        ttl: float | None = None,
    ) -> None:
        """Compare-and-set on the turn in one statement.

        Raises:
            ConflictError: the stored turn is not ``expected_turn`` (nothing was written).
        """
        self._drop_peek(session_id)
        data = codec.dumps(snapshot).decode()
        turn = int(snapshot["turn"])
        stored = await self._run(self._save, session_id, turn, data, expected_turn, ttl)
        if stored is not False:
            raise ConflictError(
                f"session {session_id!r} is at turn {stored}, not {expected_turn}: "
                "another writer got there first"
            )

    def _save(
        self, session_id: str, turn: int, data: str, expected: int | None, ttl: float | None
    ) -> int | None | bool:
        """``False`` when written, else the stored turn (``None``: no live snapshot)."""
        db = self._db()
        now = time.time()
        expires = now + ttl if ttl else None
        if expected is None:
            cur = db.execute(_INSERT, (session_id, turn, data, now, expires, now))
        else:
            cur = db.execute(_UPDATE, (turn, data, now, expires, session_id, expected, now))
        if cur.rowcount != 1:
            row = db.execute(_TURN, (session_id, now)).fetchone()
            return int(row[0]) if row is not None else None
        self._saves += 1
        if self.sweep_every and self._saves % self.sweep_every == 0:
            try:
                self._sweep(now)
            except sqlite3.Error as exc:  # the save itself is committed
                log.warning("sweeping expired sessions from %s failed: %s", self.path, exc)
        return False

    async def delete(self, session_id: str) -> None:
        """Forget a session."""
        self._drop_peek(session_id)
        await self._run(self._delete, session_id)

    def _delete(self, session_id: str) -> None:
        self._db().execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))

    async def sessions(self) -> list[str]:
        """Ids of the live (unexpired) sessions, sorted."""
        return await self._run(self._sessions)

    def _sessions(self) -> list[str]:
        rows = self._db().execute(
            f"SELECT session_id FROM sessions WHERE {_LIVE} ORDER BY session_id", (time.time(),)
        )
        return [r[0] for r in rows]

    async def sweep(self) -> int:
        """Delete expired sessions and leases now; the number of sessions removed."""
        return await self._run(self._sweep, time.time())

    def _sweep(self, now: float) -> int:
        db = self._db()
        cur = db.execute(
            "DELETE FROM sessions WHERE expires IS NOT NULL AND expires <= ?", (now,)
        )
        removed = cur.rowcount
        db.execute("DELETE FROM locks WHERE expires <= ?", (now,))
        return removed

    # ------------------------------------------------------------------ leases

    async def _acquire_lease(self, session_id: str, token: str, ttl: float) -> bool:
        taken, row = await self._run(self._acquire, session_id, token, ttl)
        if taken:
            self._keep_peek(session_id, row)
        return taken

    def _acquire(
        self, session_id: str, token: str, ttl: float
    ) -> tuple[bool, tuple[int, str] | None]:
        """Take the lease and, if taken, read the session's row in the same trip to the thread."""
        db = self._db()
        now = time.time()
        if db.execute(_ACQUIRE, (session_id, token, now + ttl, now)).rowcount != 1:
            return False, None
        row = db.execute(_PEEK, (session_id, now)).fetchone()
        return True, ((int(row[0]), row[1]) if row is not None else None)

    async def _renew_lease(self, session_id: str, token: str, ttl: float) -> bool:
        return await self._run(self._renew, session_id, token, ttl)

    def _renew(self, session_id: str, token: str, ttl: float) -> bool:
        cur = self._db().execute(_RENEW, (time.time() + ttl, session_id, token))
        return cur.rowcount == 1

    async def _release_lease(self, session_id: str, token: str) -> None:
        """Queued on the store's thread without waiting: its queue keeps this process's order."""
        if self._executor is None:
            return
        future = self._executor.submit(self._release, session_id, token)
        future.add_done_callback(_log_failure)

    def _release(self, session_id: str, token: str) -> None:
        self._db().execute(_RELEASE, (session_id, token))


def _log_failure(future: concurrent.futures.Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:  # the lease then expires on its own
        log.warning("could not release a session lock: %s", exc)
