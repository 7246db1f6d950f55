"""The built-in NLU through the ``parse_message`` hook, with intents as statechat.yaml gives them."""

from __future__ import annotations

from typing import Any

import pytest

from statechat.compiler.schema import IntentConfig
from statechat.nlu import NLUResult
from statechat.plugins.builtin import nlu
from statechat.plugins.manager import get_plugin_manager

INTENTS: dict[str, IntentConfig] = {
    "transfer_money": IntentConfig(
        patterns=[r"(?i)\btransfer\b(?:.*?(?P<amount>\d+(?:\.\d+)?))?"],
        examples=["send money", "move money to savings"],
    ),
    "check_balance": IntentConfig(
        patterns=[r"\bbalance of (?P<account>[A-Z]\d+)\b"],
        examples=["what is my balance", "how much money do I have"],
    ),
    "cancel_card": IntentConfig(patterns=[r"\bcancel (?:my )?card\b"]),
    "order": IntentConfig(patterns=[r"order (?P<qty>\d+) of item (?P<item>\d+)"]),
}


@pytest.fixture(scope="module")
def parse() -> Any:
    hook = get_plugin_manager(entry_points=False).hook

    def run(text: str, intents: dict[str, Any] | None = INTENTS) -> NLUResult:
        result: NLUResult = hook.parse_message(text=text, context={"intents": intents})
        assert isinstance(result, NLUResult)
        assert result.text == text
        return result

    return run


@pytest.mark.parametrize(
    ("text", "intent", "entities", "confidence"),
    [
        # patterns (named groups become entities, numbers converted)
        ("transfer 500", "transfer_money", {"amount": 500, "number": 500}, 1.0),
        ("Transfer 12.50 please", "transfer_money", {"amount": 12.5, "number": 12.5}, 1.0),
        # the group caught "1" of "$1,000.50": the whole written number wins
        ("TRANSFER $1,000.50", "transfer_money", {"amount": 1000.5, "number": 1000.5}, 1.0),
        ("I want to transfer", "transfer_money", {}, 1.0),
        ("what is the balance of A1?", "check_balance", {"account": "A1"}, 1.0),
        ("order 3 of item 007", "order", {"qty": 3, "item": "007", "number": 3, "amount": 3}, 1.0),
        ("cancel my card", "cancel_card", {}, 1.0),
        # examples by word overlap
        ("send money", "transfer_money", {}, 1.0),
        ("I want to send money now", "transfer_money", {}, 1.0),
        ("move money to my savings", "transfer_money", {}, 1.0),
        ("what's my balance?", "check_balance", {}, 1.0),
        ("how much money do I have left", "check_balance", {}, 0.833),
        # built-in intents
        ("yes", "affirm", {}, 1.0),
        ("Yeah!", "affirm", {}, 1.0),
        ("y", "affirm", {}, 1.0),
        ("sure", "affirm", {}, 1.0),
        ("ok", "affirm", {}, 1.0),
        ("yes please do it", "affirm", {}, 0.8),
        ("no", "deny", {}, 1.0),
        ("Nope.", "deny", {}, 1.0),
        ("n", "deny", {}, 1.0),
        ("no thanks", "deny", {}, 1.0),
        ("cancel", "cancel", {}, 1.0),
        ("stop", "cancel", {}, 1.0),
        ("Never mind", "cancel", {}, 1.0),
        ("nevermind", "cancel", {}, 1.0),
        ("quit", "cancel", {}, 1.0),
        ("I want to cancel", "cancel", {}, 1.0),
        # a bare cancel command beats a pattern that matched another word of it
        ("please cancel the transfer", "cancel", {}, 1.0),
        ("hmm, can we cancel this whole thing", "cancel", {}, 0.8),
        ("hello", "greet", {}, 1.0),
        ("good morning", "greet", {}, 1.0),
        # entities only
        ("500", None, {"amount": 500, "number": 500}, 0.0),
        ("$500", None, {"amount": 500, "number": 500}, 0.0),
        ("500 dollars", None, {"amount": 500, "number": 500}, 0.0),
        ("500.50 USD", None, {"amount": 500.5, "number": 500.5}, 0.0),
        ("1,250 bucks", None, {"amount": 1250, "number": 1250}, 0.0),
        ("it costs 3 times $20", None, {"amount": 20, "number": 3}, 0.0),
        ("A1", None, {}, 0.0),
        ("2030-01-31", None, {}, 0.0),
        ("my pin is 0042", None, {}, 0.0),
        ("", None, {}, 0.0),
        ("something else entirely", None, {}, 0.0),
    ],
)
def test_parse(
    parse: Any, text: str, intent: str | None, entities: dict[str, Any], confidence: float
) -> None:
    result = parse(text)
    assert (result.intent, result.entities) == (intent, entities)
    assert result.confidence == pytest.approx(confidence, abs=1e-3)
    for value in result.entities.values():
        assert not isinstance(value, bool)


def test_no_intents_configured_still_gives_builtins_and_entities(parse: Any) -> None:
    assert parse("yes", None).intent == "affirm"
    assert parse("transfer 5", {}).entities == {"amount": 5, "number": 5}
    assert parse("transfer 5", {}).intent is None


def test_intents_as_plain_mappings(parse: Any) -> None:
    intents = {"greet_bot": {"patterns": [r"^hi bot$"], "examples": ["hello there bot"]}}
    assert parse("Hi Bot", intents).intent == "greet_bot"  # patterns are case-insensitive
    assert parse("hello bot", intents).intent == "greet_bot"


def test_pattern_beats_example_beats_builtin(parse: Any) -> None:
    intents = {
        "examples_first": IntentConfig(examples=["yes"]),
        "pattern_later": IntentConfig(patterns=[r"^yes$"]),
    }
    assert parse("yes", intents).intent == "pattern_later"
    assert parse("yes", {"e": IntentConfig(examples=["yes"])}).intent == "e"


def test_first_declared_pattern_wins(parse: Any) -> None:
    intents = {"a": IntentConfig(patterns=["money"]), "b": IntentConfig(patterns=["money"])}
    assert parse("money", intents).intent == "a"


def test_intents_are_compiled_once_per_intents_object(monkeypatch: pytest.MonkeyPatch) -> None:
    intents = {"x": IntentConfig(patterns=[r"\bxyzzy\b"], examples=["plugh magic"])}
    first = nlu.compile_intents(intents)
    calls = 0
    original = nlu.IntentMatcher.build

    def counting(cls: Any, mapping: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(mapping)

    monkeypatch.setattr(nlu.IntentMatcher, "build", classmethod(counting))
    for _ in range(50):
        assert nlu.parse("say xyzzy", intents).intent == "x"
        assert nlu.compile_intents(intents) is first
    assert calls == 0
    other = dict(intents)
    assert nlu.parse("say xyzzy", other).intent == "x"
    assert calls == 1  # a new mapping object is compiled once
    nlu.parse("plugh magic", other)
    assert calls == 1


def test_invalid_pattern_names_the_intent() -> None:
    with pytest.raises(ValueError, match="broken"):
        nlu.compile_intents({"broken": IntentConfig(patterns=["(unclosed"])})


def test_many_intents_stay_fast(parse: Any) -> None:
    import time

    intents = {
        f"intent_{i}": IntentConfig(
            patterns=[rf"\bkeyword{i}\b"], examples=[f"example phrase number {i} word{i}"]
        )
        for i in range(500)
    }
    parse("warm up", intents)
    start = time.perf_counter()
    for i in range(200):
        result = parse(f"example phrase word{i}", intents)
        assert result.intent == f"intent_{i}"
    assert time.perf_counter() - start < 5  # generous bound; typically a few ms per message
