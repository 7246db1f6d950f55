"""HTTP turn latency and throughput of ``statechat.aiohttp`` on loopback, against bare aiohttp.

``python -m benchmarks.http [--sessions 50] [--conversations 4] [--json]`` (run it with ``-m``
from the repository root: as a script its directory would shadow the standard ``http`` module).

A server process (spawned) serves, on 127.0.0.1 and one aiohttp application, the banking bot
(``flows/banking_transfer.yaml``, memory store, the in-process banking plugin so that no bank
service is involved) and a bare aiohttp handler returning a small JSON document. This process
drives both with the same number of requests and the same concurrency:

- statechat: ``--sessions`` concurrent sessions, each running the banking script (5 turns,
  ``POST /api/v1/sessions/{id}/messages``) ``--conversations`` times;
- bare: the same number of ``GET /bare`` requests over the same number of concurrent workers.

It reports p50/p99 latency and requests per second for both, and statechat's figures as ratios
to the bare handler's, measured in the same run (best of ``--rounds``); and, for the HTTP layer's
share of a turn, the turns/second of the same bot called directly in the server process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ["transfer 500", "A9", "A1", "A2", "yes"]
FINAL = "Done! $500 was sent from A1 to A2."
HOST = "127.0.0.1"  # loopback only


# --------------------------------------------------------------------------- server process


def _serve(conn: Connection, direct_conversations: int) -> None:
    os.environ["STATECHAT_LOAD_PLUGINS"] = ""  # built-ins + the in-process plugin only
    asyncio.run(_serve_async(conn, direct_conversations))


async def _direct(bot: Any, conversations: int) -> float:
    """Turns/second of the same bot called directly (no HTTP), for the HTTP layer's share."""
    for i in range(10):
        for text in SCRIPT:
            await bot.handle_message(f"direct-warm-{i}", "u1", text)
    start = time.perf_counter()
    for i in range(conversations):
        for text in SCRIPT:
            await bot.handle_message(f"direct-{i}", "u1", text)
    return conversations * len(SCRIPT) / (time.perf_counter() - start)


async def _serve_async(conn: Connection, direct_conversations: int) -> None:
    from aiohttp import web

    import statechat.aiohttp
    from benchmarks.inprocess import InProcessBankingPlugin
    from statechat import Bot

    bot = Bot.from_path(
        ROOT / "flows" / "banking_transfer.yaml",
        store="memory://",
        plugins=[InProcessBankingPlugin()],
    )

    async def bare(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "responses": ["hello"]})

    app = web.Application()
    app.router.add_get("/bare", bare)
    statechat.aiohttp.setup(app, bot, ui_path=None)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    direct = await _direct(bot, direct_conversations)
    conn.send((runner.addresses[0][1], direct))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # until the driver says stop
    await runner.cleanup()


# --------------------------------------------------------------------------- driver


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


async def _statechat(base: str, sessions: int, conversations: int, tag: str) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0

    async def one_session(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors
        for c in range(conversations):
            sid = f"{tag}-{n}-{c}"
            for i, text in enumerate(SCRIPT):
                start = time.perf_counter()
                async with http.post(
                    f"{base}/api/v1/sessions/{sid}/messages", json={"text": text, "user_id": "u1"}
                ) as resp:
                    data = await resp.json()
                latencies.append(time.perf_counter() - start)
                if resp.status != 200 or (
                    i == len(SCRIPT) - 1 and not data["responses"][0].startswith(FINAL)
                ):
                    errors += 1

    connector = aiohttp.TCPConnector(limit=sessions)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        await asyncio.gather(*(one_session(http, n) for n in range(sessions)))
        elapsed = time.perf_counter() - start
    return {"latencies": latencies, "elapsed": elapsed, "errors": errors}


async def _bare(base: str, workers: int, requests_per_worker: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal errors
        for _ in range(requests_per_worker):
            start = time.perf_counter()
            async with http.get(f"{base}/bare") as resp:
                await resp.json()
            latencies.append(time.perf_counter() - start)
            errors += resp.status != 200

    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(workers)))
        elapsed = time.perf_counter() - start
    return {"latencies": latencies, "elapsed": elapsed, "errors": errors}


def _summary(sample: dict[str, Any]) -> dict[str, float]:
    lat = sample["latencies"]
    return {
        "requests": len(lat),
        "p50_ms": _percentile(lat, 0.50) * 1000,
        "p99_ms": _percentile(lat, 0.99) * 1000,
        "mean_ms": statistics.fmean(lat) * 1000,
        "per_s": len(lat) / sample["elapsed"],
        "errors": sample["errors"],
    }


async def _drive(
    port: int, sessions: int, conversations: int, rounds: int, direct: float
) -> dict[str, Any]:
    base = f"http://{HOST}:{port}"
    turns_per_session = conversations * len(SCRIPT)
    await _statechat(base, sessions, 1, "warm")  # warm-up: compile caches, connections
    await _bare(base, sessions, len(SCRIPT))
    ours: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    for r in range(rounds):  # interleaved, so both see the same machine load
        bare.append(_summary(await _bare(base, sessions, turns_per_session)))
        ours.append(_summary(await _statechat(base, sessions, conversations, f"r{r}")))
    best_ours = max(ours, key=lambda s: s["per_s"])
    best_bare = max(bare, key=lambda s: s["per_s"])
    return {
        "concurrent_sessions": sessions,
        "turns_per_round": best_ours["requests"],
        "statechat_p50_ms": best_ours["p50_ms"],
        "statechat_p99_ms": best_ours["p99_ms"],
        "statechat_turns_per_s": best_ours["per_s"],
        "bare_p50_ms": best_bare["p50_ms"],
        "bare_p99_ms": best_bare["p99_ms"],
        "bare_requests_per_s": best_bare["per_s"],
        "ratio_p50_statechat_over_bare": best_ours["p50_ms"] / best_bare["p50_ms"],
        "ratio_p99_statechat_over_bare": best_ours["p99_ms"] / best_bare["p99_ms"],
        "ratio_throughput_bare_over_statechat": best_bare["per_s"] / best_ours["per_s"],
        "direct_turns_per_s": direct,
        "ratio_throughput_direct_over_http": direct / best_ours["per_s"],
        "errors": int(sum(s["errors"] for s in ours + bare)),
    }


def run(sessions: int = 50, conversations: int = 4, rounds: int = 2) -> dict[str, Any]:
    """Measure; returns the figures (latencies in ms, rates per second, ratios).

    Bounded: ``rounds * sessions * conversations * 5`` statechat turns and as many bare
    requests, plus one warm-up conversation per session.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, sessions * conversations), daemon=True)
    proc.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the benchmark server did not start")
        port, direct = parent.recv()
        return asyncio.run(_drive(int(port), sessions, conversations, rounds, float(direct)))
    finally:
        parent.send("stop")
        proc.join(30)
        if proc.is_alive():  # pragma: no cover - only if the server hangs
            proc.terminate()
            proc.join(5)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.http``."""
    if not __package__:
        print("run me as: python -m benchmarks.http", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http", description=__doc__)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.sessions, args.conversations, args.rounds)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"HTTP turns on loopback, {report['concurrent_sessions']} concurrent sessions, "
        f"{report['turns_per_round']} turns per round:"
    )
    print(
        f"  statechat  p50 {report['statechat_p50_ms']:7.2f} ms  p99 "
        f"{report['statechat_p99_ms']:7.2f} ms  {report['statechat_turns_per_s']:8.0f} turns/s"
    )
    print(
        f"  bare       p50 {report['bare_p50_ms']:7.2f} ms  p99 "
        f"{report['bare_p99_ms']:7.2f} ms  {report['bare_requests_per_s']:8.0f} requests/s"
    )
    print(
        f"  ratios statechat/bare: p50 {report['ratio_p50_statechat_over_bare']:.2f}, "
        f"p99 {report['ratio_p99_statechat_over_bare']:.2f}, "
        f"throughput bare/statechat {report['ratio_throughput_bare_over_statechat']:.2f}"
    )
    print(
        f"  the same bot called directly (no HTTP): {report['direct_turns_per_s']:.0f} turns/s,"
        f" {report['ratio_throughput_direct_over_http']:.2f}x the HTTP rate"
    )
    if report["errors"]:
        print(f"  ERRORS: {report['errors']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
