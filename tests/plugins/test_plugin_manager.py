"""The plugin manager with the real, installed example packages (found through entry points)."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest

from statechat.errors import PluginError
from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.manager import DEFAULT_PLUGINS, get_plugin_manager
from statechat.plugins.registry import Register

BUILTINS = set(DEFAULT_PLUGINS)


def _names(plugins: Any) -> set[str]:
    return {p.name for p in plugins.info()}


def test_example_packages_are_installed_as_distributions() -> None:
    eps = {ep.name: ep for ep in metadata.entry_points(group="statechat")}
    assert eps["banking"].value == "statechat_banking.plugin"
    assert eps["audit"].value == "statechat_audit"
    assert eps["banking"].dist is not None and eps["banking"].dist.name == "statechat-banking"


def test_manager_finds_both_packages_through_entry_points() -> None:
    info = {p.name: p for p in get_plugin_manager().info()}
    banking, audit = info["banking"], info["audit"]
    assert (banking.distribution, banking.version) == ("statechat-banking", "0.1.0")
    assert (audit.distribution, audit.version) == ("statechat-audit", "0.1.0")
    assert not banking.builtin and not audit.builtin
    assert banking.contributes == {
        "actions": ["validate_account_access"],
        "integrations": ["core_banking"],
        "auth_providers": ["mfa"],
        "validators": ["account_exists"],
    }
    assert audit.contributes == {}
    assert audit.hooks == ["on_error", "on_transition", "on_turn_end"]
    assert set(banking.hooks) == {
        "register_actions",
        "register_auth_providers",
        "register_integrations",
        "register_validators",
    }
    assert info["banking"].as_dict()["distribution"] == "statechat-banking"


def test_builtins_are_listed_with_their_contributions() -> None:
    info = {p.name: p for p in get_plugin_manager().info()}
    assert set(info) >= BUILTINS
    assert all(info[name].builtin and info[name].distribution == "statechat" for name in BUILTINS)
    validators = info["builtin_validators"].contributes["validators"]
    assert set(validators) == {"number", "integer", "regex", "choice", "email", "date", "text"}
    assert info["builtin_auth"].contributes == {"auth_providers": ["session"]}
    assert info["builtin_nlu"].hooks == ["parse_message"]
    assert {"len", "contains", "coalesce", "is_number"} <= set(
        info["builtin_functions"].contributes["functions"]
    )


def test_entry_points_can_be_disabled() -> None:
    assert _names(get_plugin_manager(entry_points=False)) == BUILTINS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", set()),
        ("banking", {"banking"}),
        ("audit", {"audit"}),
        ("statechat-audit", {"audit"}),  # a distribution name works too
        ("banking, audit", {"banking", "audit"}),
        ("nothing-like-this", set()),
    ],
)
def test_load_plugins_env_filters_third_party_plugins(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: set[str]
) -> None:
    monkeypatch.setenv("STATECHAT_LOAD_PLUGINS", value)
    plugins = get_plugin_manager()
    assert _names(plugins) == BUILTINS | expected
    assert plugins.registry.has("validators", "account_exists") == ("banking" in expected)
    assert plugins.registry.has("validators", "number")  # built-ins always load


class AlphaPlugin:
    @hookimpl
    def register_actions(self, register: Register) -> None:
        async def act(ctx: Any) -> None:
            return None

        register("shared_name", act)


class BetaPlugin:
    @hookimpl
    def register_actions(self, register: Register) -> None:
        async def act(ctx: Any) -> None:
            return None

        register("shared_name", act)


def test_duplicate_names_across_plugins_name_both() -> None:
    with pytest.raises(PluginError) as err:
        get_plugin_manager([AlphaPlugin(), BetaPlugin()], entry_points=False)
    message = str(err.value)
    assert "shared_name" in message
    assert "AlphaPlugin" in message and "BetaPlugin" in message


def test_a_name_taken_by_an_installed_plugin_is_a_conflict() -> None:
    class MyBank:
        @hookimpl
        def register_validators(self, register: Register) -> None:
            register("account_exists", lambda value, rule, ctx: None)

    with pytest.raises(PluginError) as err:
        get_plugin_manager([MyBank()])
    assert "'banking'" in str(err.value) and "'MyBank'" in str(err.value)


def test_a_plugin_raising_in_a_register_hook_is_named() -> None:
    class BrokenPlugin:
        @hookimpl
        def register_integrations(self, register: Register) -> None:
            raise RuntimeError("no credentials configured")

    with pytest.raises(PluginError) as err:
        get_plugin_manager([BrokenPlugin()], entry_points=False)
    message = str(err.value)
    assert "BrokenPlugin" in message and "register_integrations" in message
    assert "no credentials configured" in message


def test_sync_action_is_rejected_naming_the_plugin() -> None:
    class SyncActions:
        @hookimpl
        def register_actions(self, register: Register) -> None:
            register("sync_one", lambda ctx: {"x": 1})

    with pytest.raises(PluginError) as err:
        get_plugin_manager([SyncActions()], entry_points=False)
    assert "SyncActions" in str(err.value) and "sync_one" in str(err.value)
    assert "async" in str(err.value)


@pytest.mark.parametrize(
    ("hook", "value", "words"),
    [
        ("register_integrations", object(), "request"),
        ("register_auth_providers", object(), "verify_user"),
        ("register_validators", "not callable", "callable"),
        ("register_functions", 42, "callable"),
    ],
)
def test_bad_contributions_are_rejected_naming_the_plugin(
    hook: str, value: Any, words: str
) -> None:
    def register_hook(register: Register) -> None:
        register("thing", value)

    plugin = type("BadContrib", (), {hook: staticmethod(hookimpl(register_hook))})
    # pluggy looks the implementation up by the attribute name, which is the hook's name
    with pytest.raises(PluginError) as err:
        get_plugin_manager([plugin], entry_points=False)
    assert "BadContrib" in str(err.value) and words in str(err.value)


def test_an_unknown_hook_is_a_plugin_error() -> None:
    class Typo:
        @hookimpl
        def register_action(self, register: Register) -> None:  # missing "s"
            pass

    with pytest.raises(PluginError) as err:
        get_plugin_manager([Typo()], entry_points=False)
    assert "Typo" in str(err.value)


def test_other_plugins_win_over_builtin_nlu() -> None:
    from statechat.nlu import NLUResult

    class MyNLU:
        @hookimpl
        def parse_message(self, text: str, context: dict[str, Any]) -> NLUResult:
            return NLUResult(text=text, intent="mine", confidence=0.42)

    plugins = get_plugin_manager([MyNLU()], entry_points=False)
    result = plugins.hook.parse_message(text="yes", context={})
    assert result.intent == "mine"
    builtin_only = get_plugin_manager(entry_points=False)
    assert builtin_only.hook.parse_message(text="yes", context={}).intent == "affirm"
