"""Helpers of the store tests: store URLs of every kind, the real mock bank, bot processes.

Everything is real: SQLite files in tmp dirs, redis-server processes on loopback (see the
redis-server section of tests/conftest.py), the ``statechat_banking.service`` mock bank served
on 127.0.0.1, and bot worker processes (``tests/stores/worker.py``) talking to both. The fixtures
are in ``conftest.py``; classes live here so that tests and fixtures share one module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from statechat_banking.service import BANK_KEY, Bank

from statechat import Bot, TurnResult

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
WORKER = Path(__file__).with_name("worker.py")
MFA_CODE = "424242"
#: The banking script: an invalid account (re-ask), then a transfer that is executed.
SCRIPT = ["transfer 10", "A9", "A1", "A2", "yes"]
REDIS = pytest.param("redis", marks=pytest.mark.redis)
#: Every store (test parameters; the Redis ones carry the ``redis`` mark).
STORE_KINDS: list[Any] = ["memory", "sqlite", REDIS]
#: The stores several processes can share.
SHARED_KINDS: list[Any] = ["sqlite", REDIS]

_TX = re.compile(r"TX-[0-9A-F]+")


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> None:
    """Poll an async predicate until it holds (a deadline, no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.005)


def normalized(responses: list[str]) -> list[str]:
    """Replies with transaction ids blanked (they differ between banks and runs)."""
    return [_TX.sub("TX-*", r) for r in responses]


def store_url_for(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, **options: Any
) -> str:
    """A fresh, empty store of ``kind`` (redis: the session's server, a unique key prefix)."""
    query = "&".join(f"{k}={v}" for k, v in options.items())
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}" + (f"?{query}" if query else "")
    server = request.getfixturevalue("redis_server")
    return str(server.url(prefix=f"t{uuid.uuid4().hex[:10]}", **options))


# --------------------------------------------------------------------------- the mock bank


class BankClient:
    """The mock core bank served on 127.0.0.1, inspected and broken over HTTP."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.url = str(server.make_url("")).rstrip("/")

    @property
    def state(self) -> Bank:
        """The bank's state, read directly (the service runs in the test's event loop)."""
        return self.server.app[BANK_KEY]

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with ClientSession() as http, http.request(method, self.url + path, json=body) as r:
            return await r.json()

    async def transfers(self) -> list[dict[str, Any]]:
        """Every transfer the bank executed (``GET /transfers``)."""
        return list((await self.call("GET", "/transfers"))["transfers"])

    async def requests(self) -> list[dict[str, Any]]:
        """Every API request the bank received."""
        return list((await self.call("GET", "/_requests"))["requests"])

    async def fault(self, mode: str, **options: Any) -> None:
        """Make the next requests fail (see the service's ``POST /_faults``)."""
        await self.call("POST", "/_faults", {"mode": mode, **options})


async def converse(bot: Bot, session: str, *texts: str, user: str = "u1") -> list[TurnResult]:
    """Send messages in order; the turn results."""
    return [await bot.handle_message(session, user, t) for t in texts]


# --------------------------------------------------------------------------- bot processes


class WorkerDied(Exception):
    """The worker process exited before answering."""


class Worker:
    """A bot in its own OS process (``worker.py``): JSON commands in, results out."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.pid = process.pid
        self._ids = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, store_url: str, log: Path) -> Worker:
        """Spawn a worker (environment inherited) without waiting for it to be ready."""
        with log.open("ab") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER), store_url,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
            )
        return cls(process, log)

    async def ready(self, timeout: float = 60.0) -> Worker:
        """Wait until the bot is built and listening."""
        async with asyncio.timeout(timeout):
            await self._ready
        return self

    async def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            while line := await self.process.stdout.readline():
                message = json.loads(line)
                if message.get("ready"):
                    self._ready.set_result(None)
                    continue
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
        finally:
            died = WorkerDied(f"worker {self.pid} exited; stderr: {self.stderr()[-1500:]}")
            if not self._ready.done():
                self._ready.set_exception(died)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(died)
            self._pending.clear()

    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def send(self, op: str, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        """Send a command; a future for its answer (fails with WorkerDied)."""
        self._ids += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self._reader.done():
            future.set_exception(WorkerDied(f"worker {self.pid} is gone"))
            return future
        self._pending[self._ids] = future
        assert self.process.stdin is not None
        line = json.dumps({"id": self._ids, "op": op, **fields}).encode() + b"\n"
        self.process.stdin.write(line)
        return future

    async def message(self, session: str, text: str, user: str = "u1") -> dict[str, Any]:
        """One turn; the TurnResult as a dict (raises on failure)."""
        reply = await self.send("message", session=session, text=text, user=user)
        if not reply["ok"]:
            raise RuntimeError(f"{reply['error']}: {reply['message']}")
        return dict(reply["result"])

    async def session(self, session: str) -> dict[str, Any] | None:
        """The session as ``Bot.get_session`` shows it."""
        reply = await self.send("session", session=session)
        if not reply["ok"]:
            raise RuntimeError(f"{reply['error']}: {reply['message']}")
        result: dict[str, Any] | None = reply["result"]
        return result

    def kill(self) -> None:
        """``kill -9``."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    async def close(self) -> None:
        """End of input: the worker finishes what it has, closes its bot and exits."""
        if self.process.returncode is None and self.process.stdin is not None:
            with contextlib.suppress(Exception):
                self.process.stdin.close()
            try:
                async with asyncio.timeout(20):
                    await self.process.wait()
            except TimeoutError:
                self.kill()
                await self.process.wait()
        with contextlib.suppress(BaseException):
            await self._reader
