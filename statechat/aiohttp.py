"""Embedding statechat in an aiohttp application: HTTP API, websocket, webhooks, web page.

::

    from aiohttp import web
    import statechat.aiohttp
    from statechat import Bot

    app = web.Application()
    statechat.aiohttp.setup(app, Bot.from_path("flows/"))
    web.run_app(app)

:func:`setup` stores the bot under :data:`BOT_KEY`, mounts the API as a sub-application under
``prefix`` (its error handling touches only statechat's routes), serves the web page at
``ui_path`` and opens/closes the bot (session store and HTTP client session) in
``app.cleanup_ctx``. Routes (relative to ``prefix``, default ``/api/v1``):

- ``POST /orchestrator/execute`` — the seed's route and fields;
- ``GET /orchestrator/ws/{session_id}`` — websocket: JSON messages in, turn results out;
- ``POST /sessions/{session_id}/messages`` — one turn;
- ``GET /sessions/{session_id}`` — state, waiting_for, variables, history;
- ``POST /sessions/{session_id}/events/{name}`` — signed webhook callbacks (see :func:`sign`);
- ``GET /flows``, ``GET /flows/{workflow_id}/diagram.{svg,png,dot,mmd,md}``;
- ``GET /openapi.json`` — an OpenAPI 3.1 description of all of the above.

Every error is JSON ``{"error": {"code", "message"}}``: 4xx for bad input, 503 when the session
store is down, and a bare 500 (logged, no internals) for anything unexpected.

Webhook signing: the sender computes ``HMAC-SHA256(secret, f"{timestamp}.".encode() + body)``
over the raw request body and sends ``X-Statechat-Timestamp: <unix seconds>`` and
``X-Statechat-Signature: sha256=<hex digest>``. A request is refused with 401 (and nothing
changes) when a header is missing, the signature does not match, the timestamp is further than
``webhooks.tolerance_seconds`` from now, or the same signature was already accepted (replay).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import html
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

from statechat.diagrams import DiagramError, render
from statechat.errors import ConflictError, StoreError, UsageError
from statechat.runtime.bot import MAX_ID_CHARS, Bot

__all__ = [
    "BOT_KEY",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "error_middleware",
    "get_bot",
    "openapi",
    "setup",
    "sign",
    "verify_signature",
]

log = logging.getLogger("statechat.aiohttp")

#: Where :func:`setup` keeps the bot on the application.
BOT_KEY: Final = web.AppKey("statechat_bot", Bot)

#: Header carrying ``sha256=<hex hmac>`` of a webhook callback.
SIGNATURE_HEADER: Final = "X-Statechat-Signature"
#: Header carrying the unix time (seconds) the webhook callback was signed at.
TIMESTAMP_HEADER: Final = "X-Statechat-Timestamp"

STATIC_DIR: Final = Path(__file__).parent / "web" / "static"

_DIAGRAM_TYPES: Final = {
    "svg": ("svg", "image/svg+xml"),
    "png": ("png", "image/png"),
    "dot": ("dot", "text/vnd.graphviz"),
    "mmd": ("mermaid", "text/plain"),
    "md": ("md", "text/markdown"),
}
_DIAGRAM_CACHE_SIZE: Final = 256
_REPLAY_CACHE_SIZE: Final = 100_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_dumps = partial(json.dumps, default=str, ensure_ascii=False)


# --------------------------------------------------------------------------- webhook signing


def sign(secret: str | bytes, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign a webhook callback for ``POST .../events/{name}``.

    Args:
        secret: the bot's webhook secret (``webhooks.secret`` in ``statechat.yaml``).
        body: the exact request body that will be sent (``str`` is UTF-8 encoded).
        timestamp: unix seconds; now when omitted.

    Returns:
        ``{"X-Statechat-Timestamp": "<ts>", "X-Statechat-Signature": "sha256=<hex>"}``.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: "sha256=" + _digest(secret, ts, body),
    }


def _digest(secret: str | bytes, timestamp: int, body: bytes | str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new(key, f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> str:
    """Check a webhook callback's signature headers; returns the verified signature.

    Raises:
        UsageError: (status 401) missing or malformed headers, wrong signature, or a timestamp
            more than ``tolerance`` seconds away from ``now``.
    """
    signature = headers.get(SIGNATURE_HEADER)
    stamp = headers.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        raise _unauthorized(
            "signature_missing",
            f"webhook callbacks must carry {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers",
        )
    stamp = stamp.strip()
    if not stamp.isdigit() or len(stamp) > 12:
        raise _unauthorized("signature_invalid", f"{TIMESTAMP_HEADER} must be unix seconds")
    ts = int(stamp)
    scheme, _, given = signature.strip().partition("=")
    if scheme != "sha256" or not given:
        raise _unauthorized("signature_invalid", f"{SIGNATURE_HEADER} must be 'sha256=<hex>'")
    expected = _digest(secret, ts, body)
    if not hmac.compare_digest(expected, given.strip().lower()):
        raise _unauthorized("signature_invalid", "the webhook signature does not match")
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise _unauthorized(
            "signature_expired",
            f"the webhook timestamp is more than {tolerance:g} seconds away from the server time",
        )
    return expected


def _unauthorized(code: str, message: str) -> UsageError:
    return UsageError(message, code=code, status=401)


class _ReplayGuard:
    """Signatures accepted recently (this process): a second delivery of one is a replay."""

    def __init__(self, max_entries: int = _REPLAY_CACHE_SIZE) -> None:
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._max = max_entries

    def accept(self, signature: str, window: float, now: float | None = None) -> bool:
        """Record ``signature``; ``False`` if it was already seen within ``window`` seconds."""
        t = time.time() if now is None else now
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > t:
                break
            del self._seen[oldest]
        if signature in self._seen:
            return False
        if len(self._seen) >= self._max:
            self._seen.popitem(last=False)
        self._seen[signature] = t + 2 * window
        return True


# --------------------------------------------------------------------------- errors


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}},
        status=status,
        headers=headers or None,
        dumps=_dumps,
    )


def _http_code(exc: web.HTTPException) -> str:
    special = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
    return special.get(exc.status, (exc.reason or "error").lower().replace(" ", "_"))


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors for statechat's routes: 4xx for bad input, 503 store down, 500 unexpected."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.status == 413 and exc.text else (exc.reason or "error")
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return _error(exc.status, _http_code(exc), message, **headers)
    except UsageError as exc:
        headers = {"WWW-Authenticate": "Statechat-HMAC-SHA256"} if exc.status == 401 else {}
        return _error(exc.status, exc.code, str(exc), **headers)
    except DiagramError as exc:
        return _error(503, exc.code, str(exc))
    except ConflictError:
        log.warning("concurrent write conflict on %s", request.path)
        return _error(409, "conflict", "the session was changed concurrently; retry the request")
    except StoreError as exc:
        log.error("session store unavailable: %s", exc)
        return _error(503, "store_unavailable", "the session store is unavailable; retry later")
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return _error(500, "internal_error", "internal server error")


# --------------------------------------------------------------------------- request parsing


async def _read_body(request: web.Request) -> bytes:
    return await request.read()  # over client_max_size: HTTPRequestEntityTooLarge -> 413


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"the request body is not valid JSON: {exc}", code="bad_json") from exc
    except RecursionError as exc:
        raise UsageError("the request body is nested too deeply", code="bad_json") from exc


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await _read_body(request)
    if not raw.strip():
        raise UsageError("the request body is empty; send a JSON object", code="bad_json")
    return _object(_parse_json(raw))


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError("the body must be a JSON object", code="bad_request")
    return value


def _only(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise UsageError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}",
            code="unknown_field",
        )


def _str(body: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    if name not in body or body[name] is None:
        if required:
            raise UsageError(f"missing field {name!r}", code="missing_field")
        return None
    value = body[name]
    if not isinstance(value, str):
        raise UsageError(f"field {name!r} must be a string", code="bad_field")
    return value


def _dict(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UsageError(f"field {name!r} must be a JSON object", code="bad_field")
    return value


def _check_id(what: str, value: str) -> None:
    if not value or len(value) > MAX_ID_CHARS:
        raise UsageError(
            f"{what} must be a non-empty string of at most {MAX_ID_CHARS} characters",
            code=f"bad_{what}",
        )


_MESSAGE_FIELDS: Final = ("text", "user_id", "intent", "entities", "workflow_id")
_EXECUTE_FIELDS: Final = (
    "workflow_id",
    "intent",
    "entities",
    "text",
    "session_id",
    "user_id",
    "context",
)


# --------------------------------------------------------------------------- the API


class _Api:
    """Handlers of one mounted bot."""

    def __init__(self, bot: Bot, prefix: str, webhook_secret: str | None) -> None:
        self.bot = bot
        self.prefix = prefix
        self.webhook_secret = webhook_secret
        self.replays = _ReplayGuard()
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self._diagrams: collections.OrderedDict[tuple[Any, ...], str | bytes] = (
            collections.OrderedDict()
        )

    def _json(self, data: Any, status: int = 200) -> web.Response:
        return web.json_response(data, status=status, dumps=_dumps)

    # ---------------------------------------------------------------- turns

    async def execute(self, request: web.Request) -> web.Response:
        """``POST /orchestrator/execute``: the seed's route."""
        body = await _json_object(request)
        _only(body, _EXECUTE_FIELDS)
        workflow_id = _str(body, "workflow_id", required=True)
        session_id = _str(body, "session_id", required=True)
        user_id = _str(body, "user_id", required=True)
        text = _str(body, "text", required=False) or ""
        intent = _str(body, "intent", required=False)
        entities = _dict(body, "entities")
        context = _dict(body, "context")
        assert session_id is not None and user_id is not None
        turn = await self.bot.handle_message(
            session_id,
            user_id,
            text,
            intent=intent,
            entities=entities,
            workflow_id=workflow_id,
            variables=context,
        )
        return self._json({**turn.as_dict(), "context": turn.variables})

    async def message(self, request: web.Request) -> web.Response:
        """``POST /sessions/{session_id}/messages``: one turn."""
        body = await _json_object(request)
        result = await self._turn(request.match_info["session_id"], body, default_user=None)
        return self._json(result)

    async def _turn(
        self, session_id: str, body: Mapping[str, Any], *, default_user: str | None
    ) -> dict[str, Any]:
        _only(body, _MESSAGE_FIELDS)
        text = _str(body, "text", required=True)
        user_id = _str(body, "user_id", required=default_user is None)
        turn = await self.bot.handle_message(
            session_id,
            user_id if user_id is not None else (default_user or ""),
            text,
            intent=_str(body, "intent", required=False),
            entities=_dict(body, "entities"),
            workflow_id=_str(body, "workflow_id", required=False),
        )
        return turn.as_dict()

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """``GET /orchestrator/ws/{session_id}``: JSON messages in, turn results out."""
        session_id = request.match_info["session_id"]
        _check_id("session_id", session_id)  # 400 before the upgrade
        default_user = request.query.get("user_id", "")
        limit = self.bot.config.limits.max_message_chars
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4 * limit + 65536)
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    reply = await self._ws_turn(session_id, msg.data, default_user)
                elif msg.type == WSMsgType.BINARY:
                    reply = {"error": {"code": "bad_json", "message": "send JSON text frames"}}
                else:
                    continue
                if ws.closed:  # closed during the turn (shutdown): the turn is saved anyway
                    break
                try:
                    await ws.send_json(reply, dumps=_dumps)
                except ConnectionResetError:
                    break
        finally:
            self.sockets.discard(ws)
        return ws

    async def _ws_turn(self, session_id: str, data: str, default_user: str) -> dict[str, Any]:
        try:
            body = _object(_parse_json(data.encode()))
            return await self._turn(session_id, body, default_user=default_user)
        except UsageError as exc:
            return {"error": {"code": exc.code, "message": str(exc)}}
        except ConflictError:
            return {"error": {"code": "conflict", "message": "concurrent change; retry"}}
        except StoreError as exc:
            log.error("session store unavailable: %s", exc)
            return {"error": {"code": "store_unavailable", "message": "store unavailable"}}
        except Exception:
            log.exception("unexpected error in websocket turn of session %s", session_id)
            return {"error": {"code": "internal_error", "message": "internal server error"}}

    # ---------------------------------------------------------------- sessions

    async def session(self, request: web.Request) -> web.Response:
        """``GET /sessions/{session_id}``."""
        session_id = request.match_info["session_id"]
        data = await self.bot.get_session(session_id)
        if data is None:
            raise UsageError(f"unknown session {session_id!r}", code="unknown_session", status=404)
        return self._json(data)

    async def event(self, request: web.Request) -> web.Response:
        """``POST /sessions/{session_id}/events/{name}``: a signed webhook callback."""
        secret = self.webhook_secret or self.bot.config.webhooks.secret
        raw = await _read_body(request)
        if not secret:
            raise _unauthorized(
                "webhooks_disabled",
                "no webhook secret is configured (webhooks.secret in statechat.yaml)",
            )
        tolerance = float(self.bot.config.webhooks.tolerance_seconds)
        signature = verify_signature(secret, raw, request.headers, tolerance=tolerance)
        if not self.replays.accept(signature, tolerance):
            raise _unauthorized("signature_replayed", "this webhook callback was already received")
        payload = _parse_json(raw) if raw.strip() else None
        turn = await self.bot.deliver_event(
            request.match_info["session_id"], request.match_info["name"], payload
        )
        return self._json(turn.as_dict())

    # ---------------------------------------------------------------- flows and diagrams

    async def flows(self, request: web.Request) -> web.Response:
        """``GET /flows``."""
        out = []
        for wf_id, wf in self.bot.workflows.items():
            w = wf.workflow
            out.append(
                {
                    "id": wf_id,
                    "name": w.name,
                    "description": w.description,
                    "trigger_intent": w.trigger_intent,
                    "steps": len(w.steps),
                    "version": wf.version,
                    "diagram": f"{self.prefix}/flows/{wf_id}/diagram.svg",
                }
            )
        return self._json({"flows": out})

    async def diagram(self, request: web.Request) -> web.Response:
        """``GET /flows/{workflow_id}/diagram.{ext}`` (``?session_id=`` highlights its state)."""
        workflow_id = request.match_info["workflow_id"]
        ext = request.match_info["ext"]
        if ext not in _DIAGRAM_TYPES:
            raise UsageError(f"unknown diagram type {ext!r}", code="not_found", status=404)
        fmt, content_type = _DIAGRAM_TYPES[ext]
        wf = self.bot.workflows.get(workflow_id)
        if wf is None:
            raise UsageError(
                f"unknown workflow {workflow_id!r}", code="unknown_workflow", status=404
            )
        snapshot = None
        session_id = request.query.get("session_id")
        if session_id is not None:
            _check_id("session_id", session_id)
            snapshot = await self._snapshot(session_id)
            if snapshot is None:
                raise UsageError(
                    f"unknown session {session_id!r}", code="unknown_session", status=404
                )
        frames = tuple(
            (str(f.get("version")), tuple(f.get("configuration") or []))
            for f in (snapshot or {}).get("stack") or []
            if isinstance(f, Mapping) and f.get("workflow") == workflow_id
        )
        key = (workflow_id, wf.version, fmt, frames)
        body = self._diagrams.get(key)
        if body is None:
            body = await asyncio.to_thread(render, self.bot, workflow_id, fmt, snapshot)
            self._diagrams[key] = body
            if len(self._diagrams) > _DIAGRAM_CACHE_SIZE:
                self._diagrams.popitem(last=False)
        else:
            self._diagrams.move_to_end(key)
        headers = {"Cache-Control": "no-cache"}
        if isinstance(body, bytes):
            return web.Response(body=body, content_type=content_type, headers=headers)
        return web.Response(text=body, content_type=content_type, charset="utf-8", headers=headers)

    async def _snapshot(self, session_id: str) -> dict[str, Any] | None:
        try:
            return await self.bot.store.load(session_id)
        except Exception as exc:
            raise StoreError(f"session store unavailable: {type(exc).__name__}") from exc

    async def openapi(self, request: web.Request) -> web.Response:
        """``GET /openapi.json``."""
        return self._json(openapi(self.prefix))

    async def close_sockets(self, app: web.Application) -> None:
        """``on_shutdown``: close open websockets so a graceful shutdown does not wait on them."""
        await asyncio.gather(
            *(
                ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                for ws in list(self.sockets)
            ),
            return_exceptions=True,
        )


# --------------------------------------------------------------------------- web page


def _page_handler(api_prefix: str) -> Handler:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = template.replace("__STATECHAT_API__", html.escape(api_prefix, quote=True))

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    return index


# --------------------------------------------------------------------------- setup


def setup(
    app: web.Application,
    bot: Bot,
    *,
    prefix: str = "/api/v1",
    webhook_secret: str | None = None,
    ui_path: str | None = "/",
) -> Bot:
    """Mount a bot on an aiohttp application; returns the bot.

    Args:
        app: the application (not yet started).
        bot: the :class:`~statechat.Bot` to serve; it is opened when the application starts
            and closed when it shuts down (``app.cleanup_ctx``).
        prefix: where the API lives (``/api/v1``).
        webhook_secret: the webhook signing secret; defaults to ``webhooks.secret`` of the bot's
            ``statechat.yaml``. Without either, webhook callbacks are refused.
        ui_path: where the web page is served (its assets under ``{ui_path}static/``);
            ``None`` serves no page (an application that has its own ``/``).
    """
    prefix = "/" + prefix.strip("/")
    if prefix == "/":
        raise ValueError("prefix must not be empty (e.g. '/api/v1')")
    api = _Api(bot, prefix, webhook_secret)
    sub = web.Application(middlewares=[error_middleware])
    sub[BOT_KEY] = bot
    r = sub.router
    r.add_post("/orchestrator/execute", api.execute)
    r.add_get("/orchestrator/ws/{session_id}", api.websocket)
    r.add_post("/sessions/{session_id}/messages", api.message)
    r.add_get("/sessions/{session_id}", api.session)
    r.add_post("/sessions/{session_id}/events/{name}", api.event)
    r.add_get("/flows", api.flows)
    r.add_get(r"/flows/{workflow_id}/diagram.{ext:[A-Za-z0-9]+}", api.diagram)
    r.add_get("/openapi.json", api.openapi)
    app.add_subapp(prefix, sub)
    app[BOT_KEY] = bot

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        await bot.open()
        yield
        await bot.close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(api.close_sockets)

    if ui_path is not None:
        ui = "/" + ui_path.strip("/") + "/" if ui_path.strip("/") else "/"
        app.router.add_get(ui, _page_handler(prefix))
        if ui != "/":
            app.router.add_get(ui.rstrip("/"), _redirect(ui))
        app.router.add_static(ui + "static/", STATIC_DIR, append_version=False)
    return bot


def _redirect(location: str) -> Handler:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(location)

    return redirect


def get_bot(app: web.Application) -> Bot:
    """The bot :func:`setup` mounted on ``app``.

    Raises:
        RuntimeError: :func:`setup` was not called on ``app``.
    """
    try:
        return app[BOT_KEY]
    except KeyError:
        raise RuntimeError("statechat.aiohttp.setup(app, bot) must be called first") from None


# --------------------------------------------------------------------------- OpenAPI


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad input (invalid JSON, missing field, wrong type, unknown field, bad id)",
        401: "Webhook signature missing, invalid, expired or replayed",
        404: "Unknown workflow or session",
        409: "Concurrent change of the session",
        413: "Body over the size limit, or text over limits.max_message_chars",
        503: "Session store unavailable (or Graphviz missing for svg/png)",
    }
    return {
        str(c): {
            "description": text[c],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for c in codes
    }


def _json_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _ok(schema: str, description: str = "OK") -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    }


def _param(name: str, where: str = "path", description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": {"type": "string", "maxLength": 200},
    }


def openapi(prefix: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 description of the routes :func:`setup` adds under ``prefix``."""
    p = "/" + prefix.strip("/")
    sid = _param("session_id", description="Conversation session id")
    obj: dict[str, Any] = {"type": "object"}
    str_or_null = {"type": ["string", "null"]}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "Message": {
            "type": "object",
            "required": ["text", "user_id"],
            "additionalProperties": False,
            "properties": {
                "text": {"type": "string", "description": "The user's message"},
                "user_id": {"type": "string"},
                "intent": {**str_or_null, "description": "Overrides the NLU's intent"},
                "entities": {**obj, "description": "Merged over the NLU's entities"},
                "workflow_id": {
                    **str_or_null,
                    "description": "Start this workflow when none is active (extension)",
                },
            },
        },
        "ExecuteRequest": {
            "type": "object",
            "required": ["workflow_id", "session_id", "user_id"],
            "additionalProperties": False,
            "properties": {
                "workflow_id": {"type": "string"},
                "session_id": {"type": "string"},
                "user_id": {"type": "string"},
                "text": {"type": "string"},
                "intent": str_or_null,
                "entities": obj,
                "context": {**obj, "description": "Initial variables of a workflow it starts"},
            },
        },
        "TurnResult": {
            "type": "object",
            "properties": {
                "session_id": {"type": "string"},
                "responses": {"type": "array", "items": {"type": "string"}},
                "response": {"type": "string", "description": "responses joined by newlines"},
                "state": {**str_or_null, "description": "workflow_id.step_id, null when idle"},
                "waiting_for": str_or_null,
                "completed": {"type": "boolean"},
                "variables": obj,
                "workflow_id": str_or_null,
                "turn": {"type": "integer"},
                "intent": str_or_null,
            },
        },
        "ExecuteResult": {
            "allOf": [
                _ref("TurnResult"),
                {"type": "object", "properties": {"context": obj}},
            ]
        },
        "Session": {
            "type": "object",
            "properties": {
                "session_id": {"type": "string"},
                "user_id": {"type": "string"},
                "turn": {"type": "integer"},
                "state": str_or_null,
                "waiting_for": str_or_null,
                "workflow_id": str_or_null,
                "stack": {"type": "array", "items": {"type": "string"}},
                "variables": obj,
                "history": {"type": "array", "items": obj},
                "updated": {"type": "number"},
            },
        },
        "Flows": {
            "type": "object",
            "properties": {
                "flows": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": "string"},
                            "description": {"type": "string"},
                            "trigger_intent": str_or_null,
                            "steps": {"type": "integer"},
                            "version": {"type": "string"},
                            "diagram": {"type": "string"},
                        },
                    },
                }
            },
        },
    }
    paths: dict[str, Any] = {
        f"{p}/orchestrator/execute": {
            "post": {
                "summary": "Run one turn of a workflow (the seed's route)",
                "operationId": "execute",
                "requestBody": _json_body("ExecuteRequest"),
                "responses": {**_ok("ExecuteResult"), **_errors(400, 404, 409, 413, 503)},
            }
        },
        f"{p}/orchestrator/ws/{{session_id}}": {
            "get": {
                "summary": "Websocket: send Message objects (user_id optional, default the "
                "user_id query parameter), receive TurnResult objects or Error objects",
                "operationId": "websocket",
                "parameters": [sid, _param("user_id", "query", "Default user id")],
                "responses": {
                    "101": {"description": "Switching protocols"},
                    **_errors(400),
                },
            }
        },
        f"{p}/sessions/{{session_id}}/messages": {
            "post": {
                "summary": "Send a user message; returns the turn's result",
                "operationId": "sendMessage",
                "parameters": [sid],
                "requestBody": _json_body("Message"),
                "responses": {**_ok("TurnResult"), **_errors(400, 404, 409, 413, 503)},
            }
        },
        f"{p}/sessions/{{session_id}}": {
            "get": {
                "summary": "A session's state, waiting_for, variables and history",
                "operationId": "getSession",
                "parameters": [sid],
                "responses": {**_ok("Session"), **_errors(400, 404, 503)},
            }
        },
        f"{p}/sessions/{{session_id}}/events/{{name}}": {
            "post": {
                "summary": "Deliver a signed webhook callback to a session",
                "description": (
                    f"{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of '<timestamp>.<raw body>' "
                    f"with the webhook secret>; {TIMESTAMP_HEADER}: <unix seconds>. Unsigned, "
                    "wrongly signed, stale or replayed callbacks get 401 and change nothing."
                ),
                "operationId": "deliverEvent",
                "parameters": [sid, _param("name", description="Event name")],
                "security": [{"webhookSignature": []}],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": {}}},
                },
                "responses": {**_ok("TurnResult"), **_errors(400, 401, 404, 409, 413, 503)},
            }
        },
        f"{p}/flows": {
            "get": {
                "summary": "The bot's workflows",
                "operationId": "listFlows",
                "responses": _ok("Flows"),
            }
        },
        f"{p}/flows/{{workflow_id}}/diagram.{{ext}}": {
            "get": {
                "summary": "State diagram of a workflow (svg, png, dot, mmd or md)",
                "operationId": "diagram",
                "parameters": [
                    _param("workflow_id"),
                    {
                        "name": "ext",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(_DIAGRAM_TYPES)},
                    },
                    _param("session_id", "query", "Highlight this session's current state"),
                ],
                "responses": {
                    "200": {
                        "description": "The diagram",
                        "content": {ct: {} for _, ct in _DIAGRAM_TYPES.values()},
                    },
                    **_errors(400, 404, 503),
                },
            }
        },
        f"{p}/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1 document"}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "statechat",
            "version": "1",
            "description": "Conversational workflows compiled into state machines.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "webhookSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": SIGNATURE_HEADER,
                    "description": "HMAC-SHA256 signature, see the operation's description",
                }
            },
        },
    }
