"""Turns/second of the scripted banking conversation through ``Bot`` on each session store.

``python -m benchmarks.stores [--turns 1500] [--rounds 3] [--json]``; ``make bench`` calls
:func:`run`. The bot is ``flows/banking_transfer.yaml`` with the in-process banking plugin (no
bank service), one conversation after another, on:

- ``memory://`` (the reference: encoding only, no I/O),
- ``sqlite:///<temp dir>/bench.db`` (WAL, synchronous=NORMAL, its own thread, session leases),
- ``redis://127.0.0.1:<free port>/0`` when a ``redis-server`` binary is installed (started here
  with persistence off, stopped at the end),

best of ``rounds`` (stores interleaved so that they share the machine's load), reported as
turns/second and as ratios to the memory store; plus the snapshot size of a session waiting at
turn 3 and of a completed one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("STATECHAT_LOAD_PLUGINS", "")  # built-ins + the in-process plugin only

from benchmarks.inprocess import FINAL, SCRIPT, InProcessBankingPlugin, drive  # noqa: E402
from statechat import Bot  # noqa: E402
from statechat.stores import codec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FLOW = ROOT / "flows" / "banking_transfer.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str | None]:
    """A throw-away redis-server on loopback; its URL, or ``None`` when none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not _ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


async def _conversations(url: str, conversations: int, tag: str) -> float:
    """Seconds for ``conversations`` scripted conversations, one after another (after warm-up)."""
    bot = Bot.from_path(FLOW, store=url, plugins=[InProcessBankingPlugin()])
    try:
        await bot.open()
        elapsed, turn = await drive(bot, conversations, f"{tag}-")
        assert turn.responses and turn.responses[0].startswith(FINAL), turn.responses
        return elapsed
    finally:
        await bot.close()


async def _snapshot_bytes() -> dict[str, int]:
    bot = Bot.from_path(FLOW, store="memory://", plugins=[InProcessBankingPlugin()])
    try:
        sizes = {}
        for n, text in enumerate(SCRIPT, 1):
            await bot.handle_message("probe", "u1", text)
            if n in (3, len(SCRIPT)):
                snap = await bot.store.load("probe")
                assert snap is not None
                sizes["waiting_at_turn_3" if n == 3 else "completed"] = len(codec.dumps(snap))
        return sizes
    finally:
        await bot.close()


async def _measure(
    turns: int, rounds: int, directory: Path, redis_url: str | None
) -> dict[str, Any]:
    conversations = max(1, turns // len(SCRIPT))
    urls = {"memory": "memory://", "sqlite": f"sqlite:///{directory / 'bench.db'}"}
    if redis_url is not None:
        urls["redis"] = redis_url
    best: dict[str, float] = {}
    for r in range(rounds):
        for name, url in urls.items():
            elapsed = await _conversations(url, conversations, f"r{r}")
            best[name] = min(best.get(name, elapsed), elapsed)
    n = conversations * len(SCRIPT)
    report: dict[str, Any] = {"turns": n, "rounds": rounds}
    for name in urls:
        report[f"{name}_turns_per_s"] = n / best[name]
    for name in urls:
        if name != "memory":
            report[f"{name}_ratio_to_memory"] = best["memory"] / best[name]
    if redis_url is None:
        report["redis"] = "skipped: no redis-server binary"
    sizes = await _snapshot_bytes()
    report["snapshot_bytes_at_turn_3"] = sizes["waiting_at_turn_3"]
    report["snapshot_bytes_completed"] = sizes["completed"]
    return report


def run(turns: int = 1500, rounds: int = 3) -> dict[str, Any]:
    """Turns/second per store and the ratios to ``memory://`` (higher ratio = closer to memory)."""
    with tempfile.TemporaryDirectory(prefix="statechat-bench-") as tmp, redis_server(
        Path(tmp)
    ) as redis_url:
        return asyncio.run(_measure(turns, rounds, Path(tmp), redis_url))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--turns", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.turns, args.rounds)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"banking script through Bot, {report['turns']} turns (best of {report['rounds']}):")
    for name in ("memory", "sqlite", "redis"):
        key = f"{name}_turns_per_s"
        if key in report:
            ratio = report.get(f"{name}_ratio_to_memory", 1.0)
            print(f"  {name:<7} {report[key]:9.0f} turns/s   {ratio:5.2f} x memory")
        else:
            print(f"  {name:<7} {report.get(name, 'skipped')}")
    print(f"  snapshot: {report['snapshot_bytes_at_turn_3']} bytes waiting at turn 3, "
          f"{report['snapshot_bytes_completed']} bytes completed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
