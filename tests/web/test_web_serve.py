"""``statechat serve`` as a real subprocess on a free port, and the embedding example.

The server is started with ``--port 0`` and prints the URL it bound; everything waits by polling
(no fixed sleeps).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import BANKING_SCRIPT, FLOWS, ROOT, ClientFactory, write_bot

pytestmark = pytest.mark.slow

URL_RE = re.compile(r"serving .* at (http://[^\s]+/)")


class Served:
    """A running ``statechat serve`` process."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log
        self.api = url + "api/v1"

    @property
    def host_port(self) -> tuple[str, int]:
        """Where it listens."""
        m = re.match(r"http://([^:/]+):(\d+)/", self.url)
        assert m is not None
        return m.group(1), int(m.group(2))

    async def stdout(self) -> str:
        """Everything printed so far (after exit)."""
        assert self.proc.stdout is not None
        return (await self.proc.stdout.read()).decode()


@contextlib.asynccontextmanager
async def serve(path: Path, tmp_path: Path, **env: str) -> AsyncIterator[Served]:
    """Start ``python -m statechat serve PATH --store memory:// --port 0``; kill it at the end."""
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "statechat",
            "serve",
            str(path),
            "--store",
            "memory://",
            "--port",
            "0",
            "--shutdown-timeout",
            "20",
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
        )
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), 60)
        m = URL_RE.search(first.decode())
        assert m, f"no URL in {first!r}; log: {log.read_text()}"
        yield Served(proc, m.group(1), log)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with session.post(url, json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _stop(served: Served) -> str:
    served.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(served.proc.wait(), 30) == 0, served.log.read_text()
    return await served.stdout()


async def test_serve_a_full_conversation_over_http(
    bank_server: TestServer, tmp_path: Path
) -> None:
    bank_url = str(bank_server.make_url("/")).rstrip("/")
    async with serve(FLOWS, tmp_path, CORE_BANKING_URL=bank_url) as served:
        assert served.url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            flows = await (await http.get(served.api + "/flows")).json()
            assert "banking_transfer_v1" in {f["id"] for f in flows["flows"]}
            for text, reply, _step in BANKING_SCRIPT:
                turn = await _post(
                    http, served.api + "/sessions/c1/messages", {"text": text, "user_id": "u1"}
                )
                assert turn["responses"][0].startswith(reply), turn
            session = await (await http.get(served.api + "/sessions/c1")).json()
            assert session["turn"] == 4 and session["state"] is None
            page = await http.get(served.url)
            assert page.status == 200 and "statechat" in await page.text()
        out = await _stop(served)
    assert "stopped" in out


SLOW_CONFIG = """\
intents:
  slow:
    patterns: ['(?i)\\bslow\\b']
integrations:
  slowapi:
    type: http
    base_url: ${SLOW_URL}
    timeout: 30
"""

SLOW_FLOW = """\
workflow_id: slow
name: Slow call
trigger_intent: slow
steps:
  - id: call
    type: api_call
    integration: slowapi
    endpoint: /slow
    timeout: 30
    response_mapping: {value: value}
    next_step: tell
    on_error: failed
  - id: tell
    type: response
    response_text: "Got {value}"
  - id: failed
    type: response
    response_text: The call failed
"""


async def _refuses_connections(host: str, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            return
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        await asyncio.sleep(0.02)
    raise AssertionError("the server still accepts connections after SIGTERM")


async def test_sigterm_lets_the_turn_in_flight_complete(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]], tmp_path: Path
) -> None:
    arrived, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return web.json_response({"value": 42})

    upstream = web.Application()
    upstream.router.add_get("/slow", slow)
    slow_server = await aiohttp_server(upstream)
    bot_dir = write_bot(tmp_path / "slow_bot", SLOW_CONFIG, slow=SLOW_FLOW)
    slow_url = str(slow_server.make_url("/")).rstrip("/")
    try:
        async with (
            serve(bot_dir, tmp_path, SLOW_URL=slow_url) as served,
            aiohttp.ClientSession() as http,
        ):
            turn = asyncio.create_task(
                _post(
                    http,
                    served.api + "/sessions/t1/messages",
                    {"text": "slow please", "user_id": "u1"},
                )
            )
            await asyncio.wait_for(arrived.wait(), 30)  # the turn is in the api_call now
            served.proc.send_signal(signal.SIGTERM)
            host, port = served.host_port
            await _refuses_connections(host, port, time.monotonic() + 15)
            assert served.proc.returncode is None  # still finishing the turn
            release.set()
            result = await asyncio.wait_for(turn, 30)
            assert result["responses"] == ["Got 42"]
            assert result["completed"] is True
            assert await asyncio.wait_for(served.proc.wait(), 30) == 0
            assert "stopped" in await served.stdout()
    finally:
        release.set()


async def test_serve_reports_compile_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow_id: x\nsteps:\n- id: a\n  type: response\n  next_step: ghost\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "statechat",
        "serve",
        str(bad),
        "--store",
        "memory://",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert b"ghost" in err


# --------------------------------------------------------------------------- the example


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location(
        "embed_in_aiohttp", ROOT / "examples" / "embed_in_aiohttp.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("bot")  # CORE_BANKING_URL -> the mock bank
async def test_embedding_example(aiohttp_client: ClientFactory) -> None:
    example = _load_example()
    client = await aiohttp_client(example.make_app(FLOWS))
    assert (await (await client.get("/health")).json()) == {"status": "ok"}
    assert "Chat with it" in await (await client.get("/")).text()
    assert 'data-api="/bot/api"' in await (await client.get("/bot/")).text()
    legacy = await client.post(
        "/legacy/chat", json={"session": "L1", "user": "u", "text": "transfer 20"}
    )
    assert (await legacy.json())["reply"] == "Which account would you like to transfer from?"
    resp = await client.post("/bot/api/sessions/L1/messages", json={"text": "A1", "user_id": "u"})
    assert (await resp.json())["state"] == "banking_transfer_v1.get_to_account"
