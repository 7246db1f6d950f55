"""statechat-banking's contributions, loaded through entry points, against a real mock bank."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from statechat.integrations.http import HttpIntegration
from statechat.machines.context import ExecutionContext
from statechat.plugins.api import IntegrationError, Invalid, Valid
from statechat.plugins.manager import get_plugin_manager

Banking = Any  # the ``banking`` fixture of conftest.py


# --------------------------------------------------------------------------- integration


async def test_core_banking_integration_reads_the_environment(banking: Banking) -> None:
    integration = banking.get("integrations", "core_banking")
    assert isinstance(integration, HttpIntegration)
    assert integration.base_url == str(banking.server.make_url("/")).rstrip("/")
    assert integration.timeout == 10
    assert "Authorization" not in integration.headers
    body = await integration.request("GET", "/accounts/A1/balance")
    assert body == {"account_id": "A1", "balance": 1000.0, "currency": "USD"}


def test_core_banking_defaults_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    default = get_plugin_manager().registry.get("integrations", "core_banking")
    assert default.base_url == "http://127.0.0.1:8081"
    monkeypatch.setenv("CORE_BANKING_URL", "http://bank.internal:9000/")
    monkeypatch.setenv("CORE_BANKING_TOKEN", "s3cret")
    configured = get_plugin_manager().registry.get("integrations", "core_banking")
    assert configured.base_url == "http://bank.internal:9000"
    assert configured.headers == {"Authorization": "Bearer s3cret"}


async def test_token_is_sent(aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    async def account(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response({"account_id": "A1"})

    app = web.Application()
    app.router.add_get("/accounts/{id}", account)
    server: TestServer = await aiohttp_server(app)
    monkeypatch.setenv("CORE_BANKING_URL", str(server.make_url("/")))
    monkeypatch.setenv("CORE_BANKING_TOKEN", "tok-123")
    integration = get_plugin_manager().registry.get("integrations", "core_banking")
    try:
        await integration.request("GET", "/accounts/A1")
    finally:
        await integration.close()
    assert seen == ["Bearer tok-123"]


# --------------------------------------------------------------------------- account_exists


@pytest.mark.parametrize(
    ("value", "account_id"),
    [("A1", "A1"), (" a2 ", "A2"), ("account A3", "A3"), ("from a1", "A1"), ("#A2", "A2")],
)
async def test_account_exists_normalizes_and_accepts(
    banking: Banking, value: str, account_id: str
) -> None:
    validate = banking.get("validators", "account_exists")
    assert await validate(value, {"type": "account_exists"}, banking.ctx()) == Valid(account_id)


async def test_account_exists_rejects_unknown_accounts(banking: Banking) -> None:
    validate = banking.get("validators", "account_exists")
    result = await validate("zz9", {"type": "account_exists"}, banking.ctx())
    assert isinstance(result, Invalid)
    assert result.reason.startswith("I couldn't find account ZZ9.")
    custom = await validate("zz9", {"type": "account_exists", "message": "Nope."}, banking.ctx())
    assert custom == Invalid("Nope.")
    assert isinstance(await validate("   ", {}, banking.ctx()), Invalid)


async def test_account_exists_encodes_the_id_in_the_path(banking: Banking) -> None:
    validate = banking.get("validators", "account_exists")
    result = await validate("../transfers", {"type": "account_exists"}, banking.ctx())
    assert isinstance(result, Invalid)
    request = banking.bank.requests[-1]
    assert request["raw_path"] == "/accounts/..%2FTRANSFERS"  # one path segment, no traversal
    assert banking.bank.transfers == []


async def test_account_exists_lets_other_failures_through(banking: Banking) -> None:
    banking.bank.faults.clear()
    from statechat_banking.service import Fault

    banking.bank.faults.append(Fault(mode="500", count=1))
    validate = banking.get("validators", "account_exists")
    with pytest.raises(IntegrationError) as err:
        await validate("A1", {"type": "account_exists"}, banking.ctx())
    assert err.value.status == 500


# --------------------------------------------------------------------------- validate_account_access


@pytest.mark.parametrize(
    ("user", "account"),
    [("u1", "A1"), ("alice", "A1"), ("alice", "A3"), ("alice", "a3")],
)
async def test_access_is_granted(banking: Banking, user: str, account: str) -> None:
    action = banking.get("actions", "validate_account_access")
    assert await action(banking.ctx(user), account_id=account) == {"access_validated": True}


async def test_access_to_someone_elses_account_is_denied(banking: Banking) -> None:
    action = banking.get("actions", "validate_account_access")
    with pytest.raises(PermissionError, match="A3"):
        await action(banking.ctx("bob"), account_id="A3")


async def test_access_to_an_unknown_account_fails(banking: Banking) -> None:
    action = banking.get("actions", "validate_account_access")
    with pytest.raises(IntegrationError) as err:
        await action(banking.ctx("bob"), account_id="nope/../A1")
    assert err.value.status == 404
    assert banking.bank.requests[-1]["raw_path"] == "/accounts/NOPE%2F..%2FA1"


# --------------------------------------------------------------------------- mfa


async def test_mfa_challenge_then_right_code(
    banking: Banking, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    mfa = banking.get("auth_providers", "mfa")
    ctx = banking.ctx("alice")
    with caplog.at_level(logging.WARNING, logger="statechat_banking"):
        result = await mfa.verify_user("alice", "mfa", ctx)
    assert result.status == "challenge"
    assert "6-digit code" in (result.prompt or "")
    record = next(r for r in caplog.records if r.name == "statechat_banking")
    assert isinstance(record.args, tuple)
    user, code = (str(a) for a in record.args)
    assert user == "alice" and len(code) == 6 and code.isdigit()
    assert code in capsys.readouterr().err
    state = ctx.variables["_mfa"]
    assert set(state) == {"salt", "hash", "expires"}
    assert code not in json.dumps(ctx.variables)  # only the salted hash is stored
    assert state["hash"] == hashlib.sha256(f":{state['salt']}:{code}".encode()).hexdigest()
    assert state["expires"] > time.time()

    wrong = "000000" if code != "000000" else "111111"
    again = await mfa.answer(ctx, wrong)
    assert again.status == "challenge" and again.prompt == "That code is not right, try again."
    ok = await mfa.answer(ctx, f"my code is {code[:3]} {code[3:]}")
    assert ok.status == "verified"
    assert ok.claims == {"user_id": "alice", "method": "mfa"}
    assert "_mfa" not in ctx.variables


async def test_mfa_fixed_code_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATECHAT_BANKING_MFA_CODE", "424242")
    mfa = get_plugin_manager().registry.get("auth_providers", "mfa")
    ctx = ExecutionContext("s1", "alice")
    assert (await mfa.verify_user("alice", "mfa", ctx)).status == "challenge"
    assert (await mfa.answer(ctx, "42424")).status == "challenge"
    assert (await mfa.answer(ctx, "4242420")).status == "challenge"
    assert (await mfa.answer(ctx, "424242")).status == "verified"


async def test_mfa_codes_differ_per_challenge(banking: Banking) -> None:
    mfa = banking.get("auth_providers", "mfa")
    ctx1, ctx2 = banking.ctx("alice"), banking.ctx("alice")
    await mfa.verify_user("alice", "mfa", ctx1)
    await mfa.verify_user("alice", "mfa", ctx2)
    assert ctx1.variables["_mfa"]["salt"] != ctx2.variables["_mfa"]["salt"]


async def test_mfa_expired_code_issues_a_new_one(
    monkeypatch: pytest.MonkeyPatch, banking: Banking
) -> None:
    monkeypatch.setenv("STATECHAT_BANKING_MFA_CODE", "123456")
    mfa = get_plugin_manager().registry.get("auth_providers", "mfa")
    ctx = banking.ctx("alice")
    await mfa.verify_user("alice", "mfa", ctx)
    ctx.variables["_mfa"]["expires"] = time.time() - 1
    old_salt = ctx.variables["_mfa"]["salt"]
    result = await mfa.answer(ctx, "123456")
    assert result.status == "challenge" and "expired" in (result.prompt or "")
    assert ctx.variables["_mfa"]["salt"] != old_salt
    assert (await mfa.answer(ctx, "123456")).status == "verified"


async def test_mfa_denies_anonymous_users(banking: Banking) -> None:
    mfa = banking.get("auth_providers", "mfa")
    assert (await mfa.verify_user("anonymous", "mfa", banking.ctx("anonymous"))).status == "denied"
    assert (await mfa.verify_user("", "mfa", banking.ctx(""))).status == "denied"


def test_a_bad_fixed_code_is_a_plugin_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from statechat.errors import PluginError

    monkeypatch.setenv("STATECHAT_BANKING_MFA_CODE", "12ab")
    with pytest.raises(PluginError, match="banking"):
        get_plugin_manager()
