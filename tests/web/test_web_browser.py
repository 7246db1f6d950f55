"""The web page in headless Chromium: chat beside the diagram, the current state highlighted.

Needs Debian's ``chromium`` and the ``playwright`` Python package (its own browser downloads are
not used). Skipped when either is missing, unless ``STATECHAT_REQUIRE_BROWSER=1``.
Leaves a screenshot in ``test-artifacts/web.png``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from conftest import ROOT, make_web_app

from statechat import Bot

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - depends on the environment
    async_playwright = None  # type: ignore[assignment]

_missing = [
    what
    for what, ok in (("chromium", CHROMIUM), ("playwright", async_playwright is not None))
    if not ok
]
if _missing and os.environ.get("STATECHAT_REQUIRE_BROWSER") != "1":
    pytest.skip(f"{' and '.join(_missing)} not installed", allow_module_level=True)


async def _active_state(page: Page, state_id: str) -> None:
    await page.wait_for_function(
        "id => (document.getElementById('diagram').dataset.state || '').split(' ').includes(id)",
        arg=state_id,
        timeout=15_000,
    )


async def _say(page: Page, text: str, reply: str) -> None:
    before = await page.locator(".msg.bot").count()
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await page.locator(".msg.bot").nth(before).wait_for(timeout=15_000)
    await page.wait_for_function(
        "([n, reply]) => [...document.querySelectorAll('.msg.bot')].slice(n)"
        ".some(li => li.textContent.startsWith(reply))",
        arg=[before, reply],
        timeout=15_000,
    )


async def test_chat_beside_the_live_diagram(
    aiohttp_server: Callable[..., Awaitable[TestServer]], bot: Bot
) -> None:
    server = await aiohttp_server(make_web_app(bot), host="127.0.0.1")
    url = str(server.make_url("/"))
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    errors: list[str] = []
    assert async_playwright is not None
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda msg: errors.append(msg.text) if msg.type == "error" else None,
            )
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            await page.goto(url)
            await page.wait_for_selector(
                "#flow option[value='banking_transfer_v1']", state="attached"
            )
            await page.select_option("#flow", "banking_transfer_v1")
            await page.wait_for_selector("#diagram svg g#banking_transfer_v1__get_amount")
            await page.wait_for_function("document.getElementById('conn').textContent === 'live'")

            await _say(page, "transfer 100", "Which account would you like to transfer from?")
            await _active_state(page, "banking_transfer_v1__get_from_account")
            assert await page.text_content("#state") == "banking_transfer_v1.get_from_account"

            await _say(page, "A1", "Which account should receive the money?")
            await _active_state(page, "banking_transfer_v1__get_to_account")
            active = await page.eval_on_selector_all(
                "#diagram g.node.active", "nodes => nodes.map(n => n.id)"
            )
            assert active == ["banking_transfer_v1__get_to_account"]
            fill = await page.eval_on_selector(
                "#diagram g.node.active path", "p => getComputedStyle(p).fill"
            )
            assert fill == "rgb(64, 224, 208)"  # the highlight colour
            assert await page.text_content("#waiting") == "to_account"

            await _say(page, "A2", "Transfer $100 from A1 to A2?")
            await _active_state(page, "banking_transfer_v1__confirm_transfer")
            await page.screenshot(path=str(artifacts / "web.png"))

            await _say(page, "yes", "Done! $100 was sent from A1 to A2.")
            await page.wait_for_function("document.getElementById('state').textContent === 'idle'")
            texts: list[Any] = await page.eval_on_selector_all(
                ".msg", "nodes => nodes.map(n => n.className + ': ' + n.textContent)"
            )
            assert any(t.startswith("msg user: transfer 100") for t in texts)
        finally:
            await browser.close()
    assert not errors, errors
    assert (artifacts / "web.png").stat().st_size > 10_000


async def test_page_falls_back_to_http_without_websocket(
    aiohttp_server: Callable[..., Awaitable[TestServer]], bot: Bot
) -> None:
    app = make_web_app(bot)
    server = await aiohttp_server(app, host="127.0.0.1")
    assert async_playwright is not None
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page()
            await page.add_init_script(
                "window.WebSocket = function () { throw new Error('no websockets here'); };"
            )
            await page.goto(str(server.make_url("/")))
            await page.wait_for_function(
                "document.getElementById('conn').textContent === 'offline (HTTP)'"
            )
            await page.wait_for_selector(
                "#flow option[value='banking_transfer_v1']", state="attached"
            )
            await page.select_option("#flow", "banking_transfer_v1")
            await _say(page, "transfer 100", "Which account would you like to transfer from?")
            await _active_state(page, "banking_transfer_v1__get_from_account")
        finally:
            await browser.close()


def test_web_page_is_self_contained() -> None:
    static = ROOT / "statechat" / "web" / "static"
    for name in ("index.html", "app.js", "style.css"):
        text = (static / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name
