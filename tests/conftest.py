"""Project-wide test settings."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


# --------------------------------------------------------------------------- audit trail
@pytest.fixture(autouse=True, scope="session")
def _audit_log_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The installed audit plugin writes its trail to a temporary file, never into the repo."""
    path = tmp_path_factory.mktemp("audit") / "statechat-audit.jsonl"
    mp = pytest.MonkeyPatch()
    mp.setenv("STATECHAT_AUDIT_LOG", str(path))
    yield path
    mp.undo()


# =========================================================================== redis-server
# Section owned by the stores tests (tests/stores/): real redis-server processes on loopback.
# `redis_server` is one shared server for the session (tests isolate themselves by key prefix);
# `redis_factory` starts extra servers for tests that stop and restart theirs.

REDIS_BIN = shutil.which("redis-server")
REQUIRE_REDIS_ENV = "STATECHAT_REQUIRE_REDIS"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_ping(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a Redis server answers PING with PONG (not LOADING, not refused)."""
    try:
        with socket.create_connection((host, port), timeout=1.0) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server child process on 127.0.0.1, data (if ``persistent``) in ``directory``."""

    host = "127.0.0.1"

    def __init__(self, directory: Path, *, persistent: bool = False) -> None:
        if REDIS_BIN is None:
            raise RuntimeError("redis-server is not installed")
        self.directory = directory
        self.persistent = persistent
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0, **options: Any) -> str:
        """``redis://127.0.0.1:PORT/db`` with statechat store options as the query."""
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"redis://{self.host}:{self.port}/{db}" + (f"?{query}" if query else "")

    def start(self, timeout: float = 15.0) -> None:
        """Start (on the same port again after a stop) and wait until PING answers."""
        assert REDIS_BIN is not None and self.process is None
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            port = self.port or free_port()
            args = [
                REDIS_BIN, "--port", str(port), "--bind", self.host, "--save", "",
                "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log"),
            ]
            if self.persistent:  # every acknowledged write is on disk before the reply
                args += ["--appendonly", "yes", "--appendfsync", "always"]
            else:
                args += ["--appendonly", "no"]
            self.process = subprocess.Popen(
                args, cwd=self.directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if redis_ping(port):
                    self.port = port
                    return
                time.sleep(0.01)  # polling with a deadline
            self.process.kill()
            self.process.wait()
            self.process = None
            if self.port:  # a fixed port (restart): do not hop to another one
                break
        log = (self.directory / "redis.log")
        detail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"redis-server did not answer PING:\n{detail}")

    def stop(self, *, crash: bool = True) -> None:
        """``kill -9`` (``crash``) or SIGTERM the server and wait for it to exit."""
        if self.process is None:
            return
        if crash:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Start again on the same port with the same data directory."""
        self.stop()
        self.start()


def _need_redis() -> None:
    if REDIS_BIN is None:
        if os.environ.get(REQUIRE_REDIS_ENV) == "1":
            pytest.fail(f"redis-server is not installed but {REQUIRE_REDIS_ENV}=1")
        pytest.skip("redis-server is not installed")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the test session (no persistence), killed at the end."""
    _need_redis()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start extra redis-servers (``persistent=True``: AOF with fsync always) for one test."""
    _need_redis()
    servers: list[RedisServer] = []

    def start(*, persistent: bool = False) -> RedisServer:
        server = RedisServer(tmp_path / f"redis{len(servers)}", persistent=persistent)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
