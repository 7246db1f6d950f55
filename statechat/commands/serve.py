"""``statechat serve PATH [--store URL] [--host H] [--port P]``: the HTTP API and web page.

Runs :func:`statechat.aiohttp.setup` on a fresh aiohttp application. SIGTERM or SIGINT stop it
gracefully: the listening socket closes, open websockets are closed, turns in flight complete
(up to ``--shutdown-timeout`` seconds), then the session store and HTTP client are closed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from statechat.aiohttp import setup
from statechat.runtime.bot import Bot


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser("serve", help="serve the HTTP API, websocket and web page of a bot")
    p.add_argument("path", metavar="PATH", help="a bot directory or a workflow file")
    p.add_argument(
        "--store",
        metavar="URL",
        default=None,
        help="session store: sqlite:///file.db, memory://, redis://host:6379/0 "
        "(default: statechat.yaml's store, else the embedded SQLite store)",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks a free one)")
    p.add_argument("--prefix", default="/api/v1", help="URL prefix of the API (/api/v1)")
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long turns in flight may take to finish on shutdown (30)",
    )
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")
    p.set_defaults(func=run)


def make_app(bot: Bot, *, prefix: str = "/api/v1") -> web.Application:
    """The standalone application: request bodies bounded by the bot's message limit."""
    limit = bot.config.limits.max_message_chars
    app = web.Application(client_max_size=max(64 * 1024, 4 * limit + 16 * 1024))
    setup(app, bot, prefix=prefix)
    return app


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


async def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout: float = 30.0,
    access_log: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` until cancelled (SIGTERM/SIGINT end the loop; see :func:`run`)."""
    runner = web.AppRunner(
        app,
        handle_signals=True,
        shutdown_timeout=shutdown_timeout,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        if on_ready is not None:
            on_ready(_url(str(bound[0]), int(bound[1])))
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run(args: argparse.Namespace) -> int:
    """Compile the bot and serve it until SIGTERM/SIGINT."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    bot = Bot.from_path(args.path, store=args.store)
    app = make_app(bot, prefix=args.prefix)
    prefix = "/" + args.prefix.strip("/")

    def ready(url: str) -> None:
        print(
            f"statechat: serving {args.path} ({len(bot.workflows)} workflow(s)) at {url}\n"
            f"  API {url.rstrip('/')}{prefix}/  store {bot.store.url or '?'}  "
            "(Ctrl+C or SIGTERM to stop)",
            flush=True,
        )

    loop = asyncio.new_event_loop()
    main = loop.create_task(
        serve(
            app,
            args.host,
            args.port,
            shutdown_timeout=args.shutdown_timeout,
            access_log=args.access_log,
            on_ready=ready,
        )
    )
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    except OSError as exc:  # the port is taken, the host is not ours...
        print(f"statechat serve: error: {exc}", file=sys.stderr)
        return 1
    finally:
        if not main.done():
            main.cancel()  # runs the graceful cleanup: turns in flight finish first
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)
    print("statechat: stopped", flush=True)
    return 0
