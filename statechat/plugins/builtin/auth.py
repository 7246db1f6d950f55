"""Built-in auth provider ``session``: the bot's caller already authenticated the user.

The embedding application (an aiohttp handler, a websocket, the CLI) passes the ``user_id`` it
trusts; ``session`` accepts any non-empty user id other than ``"anonymous"`` and denies the rest.
"""

from __future__ import annotations

from typing import Any

from statechat.plugins.api import AuthResult
from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.registry import Register

__all__ = ["ANONYMOUS", "SessionAuthProvider", "register_auth_providers"]

#: User ids (compared case-insensitively) that never count as signed in.
ANONYMOUS = frozenset({"anonymous"})


class SessionAuthProvider:
    """Verified when the session's user id names a signed-in user."""

    async def verify_user(self, user_id: Any, provider: str, ctx: Any) -> AuthResult:
        """Verified (claims ``user_id``) for a real user id; denied for an empty or anonymous one."""
        if (
            isinstance(user_id, str)
            and user_id.strip()
            and user_id.strip().lower() not in ANONYMOUS
        ):
            return AuthResult.verified(user_id=user_id, method="session")
        return AuthResult.denied("You need to sign in first.")


@hookimpl(trylast=True)
def register_auth_providers(register: Register) -> None:
    """Register the built-in ``session`` auth provider."""
    register("session", SessionAuthProvider())
