"""The ``banking`` statechat plugin (entry point ``banking = statechat_banking.plugin``).

Contributes:

- integration ``core_banking``: an HTTP integration against ``CORE_BANKING_URL`` (default
  ``http://127.0.0.1:8081``), with ``Authorization: Bearer $CORE_BANKING_TOKEN`` when that is set;
  both are read when the bot is built (the registration hook runs);
- validator ``account_exists``: normalizes an account id and checks that the bank knows it;
- action ``validate_account_access(account_id)``: the session's user may use the account;
- auth provider ``mfa``: a one-time 6-digit code challenge.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from statechat.integrations.http import HttpIntegration
from statechat.plugins.api import AuthResult, IntegrationError, Invalid, Valid
from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.registry import Register

__all__ = [
    "DEFAULT_URL",
    "MfaProvider",
    "account_exists",
    "normalize_account_id",
    "register_actions",
    "register_auth_providers",
    "register_integrations",
    "register_validators",
    "validate_account_access",
]

logger = logging.getLogger("statechat_banking")

#: Where the core-banking service is when ``CORE_BANKING_URL`` is not set.
DEFAULT_URL = "http://127.0.0.1:8081"
INTEGRATION = "core_banking"

_FILLER_RE = re.compile(r"^(?:(?:from|to|account|acct|my|number|no\.?)\s+|#\s*)+", re.IGNORECASE)


def normalize_account_id(value: Any) -> str:
    """``" from account a1 "`` -> ``"A1"``: strip, drop filler words, upper-case."""
    text = str(value).strip()
    return _FILLER_RE.sub("", text).strip().upper()


def _account_path(account_id: str) -> str:
    return f"/accounts/{quote(account_id, safe='')}"


# --------------------------------------------------------------------------- action


async def validate_account_access(ctx: Any, account_id: Any) -> dict[str, Any]:
    """Check that the session's user may use ``account_id``.

    Asks ``core_banking`` for ``GET /accounts/{account_id}``. An account with an ``owner`` other
    than ``ctx.user_id`` raises :class:`PermissionError` (the flow follows ``on_error``); an
    unknown account raises the integration's error.

    Returns:
        ``{"access_validated": True}``, merged into the session variables.
    """
    normalized = normalize_account_id(account_id)
    account = await ctx.integration(INTEGRATION).request("GET", _account_path(normalized))
    owner = account.get("owner") if isinstance(account, Mapping) else None
    if owner and owner != ctx.user_id:
        raise PermissionError(f"user {ctx.user_id!r} may not use account {normalized!r}")
    return {"access_validated": True}


# --------------------------------------------------------------------------- validator


async def account_exists(value: Any, rule: Mapping[str, Any], ctx: Any) -> Valid | Invalid:
    """``validation: {type: account_exists}``: the bank knows this account.

    The value is normalized (stripped, filler words such as "account" dropped, upper-cased) and
    looked up with ``GET /accounts/{id}`` on ``core_banking`` (or ``rule["integration"]``). A 404
    is :class:`Invalid` (``rule["message"]`` overrides the reason); any other failure propagates,
    so the step follows ``on_error``.

    Returns:
        ``Valid(account_id)`` with the bank's spelling of the id.
    """
    account_id = normalize_account_id(value) if value is not None else ""
    if not account_id or len(account_id) > 64:
        return Invalid(str(rule.get("message") or "Please enter an account number."))
    integration = ctx.integration(str(rule.get("integration") or INTEGRATION))
    try:
        account = await integration.request("GET", _account_path(account_id))
    except IntegrationError as exc:
        if exc.status == 404:
            return Invalid(
                str(
                    rule.get("message")
                    or f"I couldn't find account {account_id}. "
                    "Please check the account number and try again."
                )
            )
        raise
    if isinstance(account, Mapping) and isinstance(account.get("account_id"), str):
        return Valid(account["account_id"])
    return Valid(account_id)


# --------------------------------------------------------------------------- MFA


_DIGIT_RE = re.compile(r"\d")


class MfaProvider:
    """A one-time-code challenge (``auth_provider: mfa``).

    ``verify_user`` "sends" a 6-digit code — this example logs it on the ``statechat_banking``
    logger and prints it to stderr — and keeps only a salted SHA-256 hash of it and an expiry
    time in ``ctx.variables["_mfa"]``; ``answer`` checks what the user typed. The ``auth`` step
    counts the tries.
    """

    prompt = "We sent a 6-digit code to your registered device. Please enter it."
    wrong = "That code is not right, try again."
    expired = "That code has expired. We sent you a new 6-digit code. Please enter it."

    def __init__(
        self, *, ttl: float = 300.0, fixed_code: str | None = None, secret: str = ""
    ) -> None:
        if fixed_code is not None and not re.fullmatch(r"\d{6}", fixed_code):
            raise ValueError("STATECHAT_BANKING_MFA_CODE must be exactly 6 digits")
        self.ttl = ttl
        self.fixed_code = fixed_code
        self._secret = secret

    @classmethod
    def from_env(cls) -> MfaProvider:
        """``STATECHAT_BANKING_MFA_CODE`` (fixed code) and ``STATECHAT_BANKING_MFA_SECRET``."""
        return cls(
            fixed_code=os.environ.get("STATECHAT_BANKING_MFA_CODE") or None,
            secret=os.environ.get("STATECHAT_BANKING_MFA_SECRET", ""),
        )

    def _hash(self, salt: str, code: str) -> str:
        return hashlib.sha256(f"{self._secret}:{salt}:{code}".encode()).hexdigest()

    def _issue(self, ctx: Any, user_id: Any, prompt: str) -> AuthResult:
        code = self.fixed_code or f"{secrets.randbelow(1_000_000):06d}"
        salt = secrets.token_hex(16)
        ctx.variables["_mfa"] = {
            "salt": salt,
            "hash": self._hash(salt, code),
            "expires": time.time() + self.ttl,
        }
        logger.warning("MFA code for user %s: %s", user_id, code)
        print(f"[statechat-banking] MFA code for user {user_id}: {code}", file=sys.stderr)
        return AuthResult.challenge(prompt)

    async def verify_user(self, user_id: Any, provider: str, ctx: Any) -> AuthResult:
        """Send a new code and challenge the user for it (an anonymous user is denied)."""
        if not isinstance(user_id, str) or not user_id.strip() or user_id == "anonymous":
            return AuthResult.denied("You need to sign in first.")
        return self._issue(ctx, user_id, self.prompt)

    async def answer(self, ctx: Any, text: str) -> AuthResult:
        """Check the user's answer: verified, or a new challenge (wrong or expired code)."""
        state = ctx.variables.get("_mfa")
        if not isinstance(state, Mapping) or not {"salt", "hash", "expires"} <= state.keys():
            return self._issue(ctx, ctx.user_id, self.prompt)
        if time.time() > float(state["expires"]):
            return self._issue(ctx, ctx.user_id, self.expired)
        digits = "".join(_DIGIT_RE.findall(text or ""))
        if len(digits) == 6 and hmac.compare_digest(
            self._hash(str(state["salt"]), digits), str(state["hash"])
        ):
            ctx.variables.pop("_mfa", None)
            return AuthResult.verified(user_id=ctx.user_id, method="mfa")
        return AuthResult.challenge(self.wrong)


# --------------------------------------------------------------------------- hooks


@hookimpl
def register_integrations(register: Register) -> None:
    """``core_banking``: ``CORE_BANKING_URL`` / ``CORE_BANKING_TOKEN``, read now."""
    token = os.environ.get("CORE_BANKING_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    register(
        INTEGRATION,
        HttpIntegration(
            INTEGRATION,
            base_url=os.environ.get("CORE_BANKING_URL") or DEFAULT_URL,
            headers=headers,
            timeout=10,
        ),
    )


@hookimpl
def register_actions(register: Register) -> None:
    """``validate_account_access``."""
    register("validate_account_access", validate_account_access)


@hookimpl
def register_validators(register: Register) -> None:
    """``account_exists``."""
    register("account_exists", account_exists)


@hookimpl
def register_auth_providers(register: Register) -> None:
    """``mfa``."""
    register("mfa", MfaProvider.from_env())
