"""An existing aiohttp bot application that embeds statechat in a few lines.

The application already has its own routes (a health check, its own home page and a legacy
chat endpoint); statechat adds its API under ``/bot/api`` and its web page under ``/bot/``::

    python examples/embed_in_aiohttp.py            # then open http://127.0.0.1:8080/bot/

The demo flows call the core-banking integration: run the mock bank beside it
(``python -m statechat_banking.service --port 8081``) or set ``CORE_BANKING_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

import statechat.aiohttp
from statechat import Bot

FLOWS = Path(__file__).resolve().parent.parent / "flows"


async def health(request: web.Request) -> web.Response:
    """The host application's own route."""
    return web.json_response({"status": "ok"})


async def home(request: web.Request) -> web.Response:
    """The host application's own home page."""
    return web.Response(text='My bot. <a href="/bot/">Chat with it</a>.', content_type="text/html")


async def legacy_chat(request: web.Request) -> web.Response:
    """A host route that hands messages to the embedded bot: ``get_bot(app)``."""
    body = await request.json()
    bot = statechat.aiohttp.get_bot(request.app)
    turn = await bot.handle_message(body["session"], body.get("user", ""), body["text"])
    return web.json_response({"reply": turn.response})


def make_app(flows: str | os.PathLike[str] = FLOWS, store: str = "memory://") -> web.Application:
    """The host application with statechat embedded."""
    app = web.Application()
    app.router.add_get("/", home)
    app.router.add_get("/health", health)
    app.router.add_post("/legacy/chat", legacy_chat)
    # --- the statechat part: one bot, its API and web page, opened/closed with the app
    statechat.aiohttp.setup(
        app, Bot.from_path(flows, store=store), prefix="/bot/api", ui_path="/bot/"
    )
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=8080)
