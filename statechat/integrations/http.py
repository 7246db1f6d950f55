"""HTTP integrations: the built-in shape of ``integrations:`` in ``statechat.yaml``.

All HTTP integrations of a bot share one :class:`aiohttp.ClientSession`, opened by the bot and
handed to each integration with :meth:`HttpIntegration.bind`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from statechat.plugins.api import IntegrationError


class HttpIntegration:
    """``async request(method, endpoint, headers=None, json=None)`` against a base URL.

    A non-2xx status, a transport error, a timeout or a body that is not JSON raises
    :class:`~statechat.plugins.api.IntegrationError`. Retries are the caller's business (the
    ``api_call`` step retries only when it is safe).
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10,
        retries: int = 2,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.retries = retries
        self._session: aiohttp.ClientSession | None = None
        self._own_session = False

    def bind(self, session: aiohttp.ClientSession) -> None:
        """Use this shared client session (the bot's)."""
        self._session = session
        self._own_session = False

    async def close(self) -> None:
        """Close a client session this integration opened itself."""
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def request(
        self,
        method: str,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON body (``{}`` for an empty body)."""
        url = self.base_url + (endpoint if endpoint.startswith("/") else "/" + endpoint)
        merged = {**self.headers, **(headers or {})}
        limit = aiohttp.ClientTimeout(total=timeout if timeout is not None else self.timeout)
        try:
            async with self._client().request(
                method, url, headers=merged, json=json, timeout=limit
            ) as resp:
                body = await resp.read()
                status = resp.status
        except TimeoutError:
            raise IntegrationError(
                f"{self.name}: {method} {endpoint} timed out after {limit.total:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise IntegrationError(f"{self.name}: {method} {endpoint} failed: {exc}") from None
        if not 200 <= status < 300:
            raise IntegrationError(
                f"{self.name}: {method} {endpoint} returned HTTP {status}",
                status=status,
                retryable=status >= 500 or status == 429,
            )
        return _decode(body, self.name, method, endpoint)


def _decode(body: bytes, name: str, method: str, endpoint: str) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError:
        raise IntegrationError(
            f"{name}: {method} {endpoint} returned a body that is not valid JSON",
            retryable=False,
        ) from None
