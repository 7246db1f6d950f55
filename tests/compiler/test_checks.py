"""Static checks: the seed, the corrected banking flow, step graphs, name analysis, bots, loaders."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from statechat.compat.seed_workflow import BANKING_TRANSFER_WORKFLOW
from statechat.compiler.checks import (
    SYSTEM_NAMES,
    CheckContext,
    Edge,
    check_bot,
    check_workflow,
    step_graph,
)
from statechat.compiler.loader import (
    MAX_FILE_BYTES,
    load_bot,
    load_workflow_dict,
    load_workflow_file,
    parse_text,
)
from statechat.compiler.schema import BotConfig, IntentConfig, Workflow
from statechat.errors import CompileError, Problem
from statechat.plugins.api import StepTypeSpec
from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.manager import get_plugin_manager
from statechat.plugins.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
SEED_YAML = Path(__file__).parent / "data" / "seed_banking_transfer.yaml"
FLOW_YAML = ROOT / "flows" / "banking_transfer.yaml"


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def wf(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"workflow_id": extra.pop("workflow_id", "t"), "steps": list(steps), **extra}


def check(data: dict[str, Any], ctx: CheckContext | None = None) -> list[Problem]:
    return check_workflow(load_workflow_dict(data), ctx)


def say(sid: str, text: str = "ok", **kw: Any) -> dict[str, Any]:
    return {"id": sid, "type": "response", "response_text": text, **kw}


# --------------------------------------------------------------------------- the seed


def _line_of(path: Path, text: str) -> list[int]:
    return [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]


def test_seed_yaml_names_both_missing_steps_with_positions() -> None:
    problems = check_workflow(load_workflow_file(SEED_YAML))
    errs = errors(problems)
    assert codes(errs) == ["undefined_step"] * 3
    amount_lines = _line_of(SEED_YAML, "on_error: invalid_amount")
    account_lines = _line_of(SEED_YAML, "on_error: invalid_account")
    assert len(amount_lines) == 1 and len(account_lines) == 2
    got = [(p.location.line if p.location else 0, p.step) for p in errs]
    assert got == [
        (amount_lines[0], "get_amount"),
        (account_lines[0], "get_from_account"),
        (account_lines[1], "get_to_account"),
    ]
    assert "'invalid_amount'" in errs[0].message
    assert all("'invalid_account'" in p.message for p in errs[1:])
    for p in errs:
        assert p.location is not None and p.location.column == 13
        assert str(p).startswith(f"{SEED_YAML}:{p.location.line}:13: ")
    text = str(CompileError(problems))
    assert "invalid_amount" in text and "invalid_account" in text


def test_seed_dict_names_both_missing_steps() -> None:
    problems = check_workflow(load_workflow_dict(BANKING_TRANSFER_WORKFLOW, "seed"))
    errs = errors(problems)
    assert [(str(p.location), p.step) for p in errs] == [
        ("seed:steps[1].on_error", "get_amount"),
        ("seed:steps[2].on_error", "get_from_account"),
        ("seed:steps[3].on_error", "get_to_account"),
    ]
    assert {m for p in errs for m in ("invalid_amount", "invalid_account") if m in p.message} == {
        "invalid_amount",
        "invalid_account",
    }


def test_seed_workflow_model_constructs() -> None:
    model = Workflow(**BANKING_TRANSFER_WORKFLOW)
    assert model.workflow_id == "banking_transfer_v1"
    assert len(model.steps) == 16


def banking_registry() -> Registry:
    """The installed built-ins plus a tiny inline plugin for the names the flow needs."""
    base = get_plugin_manager(entry_points=False).registry
    wanted = {
        "auth_providers": ["session"],
        "validators": ["account_exists", "number", "choice"],
        "actions": ["validate_account_access"],
        "integrations": ["core_banking"],
    }
    missing = {k: [n for n in names if not base.has(k, n)] for k, names in wanted.items()}  # type: ignore[arg-type]

    async def action(ctx: Any, **parameters: Any) -> dict[str, Any]:
        return {}

    class Integration:
        async def request(self, method: str, endpoint: str, **kw: Any) -> dict[str, Any]:
            return {}

    class BankingPlugin:
        @hookimpl
        def register_auth_providers(self, register: Any) -> None:
            for n in missing["auth_providers"]:
                register(n, object())

        @hookimpl
        def register_validators(self, register: Any) -> None:
            for n in missing["validators"]:
                register(n, lambda value, rule, ctx: value)

        @hookimpl
        def register_actions(self, register: Any) -> None:
            for n in missing["actions"]:
                register(n, action)

        @hookimpl
        def register_integrations(self, register: Any) -> None:
            for n in missing["integrations"]:
                register(n, Integration())

    return get_plugin_manager([BankingPlugin()], entry_points=False).registry


def test_corrected_banking_flow_has_no_errors() -> None:
    registry = banking_registry()
    problems = check_workflow(load_workflow_file(FLOW_YAML), CheckContext(registry=registry))
    assert errors(problems) == [], "\n".join(map(str, problems))
    assert problems == []  # and no warnings either


def test_corrected_banking_flow_without_the_plugin_names() -> None:
    registry = get_plugin_manager(entry_points=False).registry
    problems = check_workflow(load_workflow_file(FLOW_YAML), CheckContext(registry=registry))
    got = {(p.code, p.step) for p in problems}
    assert ("unknown_validator", "get_from_account") in got
    assert ("unknown_action", "validate_access") in got
    assert ("unknown_integration", "check_balance") in got


def test_corrected_banking_flow_as_a_bot_with_config(tmp_path: Path) -> None:
    (tmp_path / "banking_transfer.yaml").write_text(FLOW_YAML.read_text())
    (tmp_path / "statechat.yaml").write_text(
        "intents:\n  transfer_money: {examples: [send money]}\n"
        "integrations:\n  core_banking: {base_url: 'http://bank.invalid'}\n"
    )
    bot = load_bot(tmp_path)
    assert bot.problems == []
    base = get_plugin_manager(entry_points=False).registry
    base.add("validators", "account_exists", object(), "test")
    base.add("actions", "validate_account_access", object(), "test")
    assert check_bot(bot, CheckContext(registry=base)) == []  # core_banking from the config


# --------------------------------------------------------------------------- step graph


def test_step_graph_of_the_seed() -> None:
    g = step_graph(Workflow(**BANKING_TRANSFER_WORKFLOW))
    assert g.start == "authenticate"
    assert g.edges["authenticate"] == [Edge("next", "get_amount"), Edge("error", "auth_failed")]
    assert g.edges["verify_funds"] == [
        Edge("true", "confirm_transfer"),
        Edge("false", "insufficient_funds"),
        Edge("error_handling", "service_error"),
    ]
    assert g.edges["transfer_complete"] == [Edge("next", None)]
    assert g.ends("transfer_complete") == ["next"]
    assert g.successors("authenticate") == ["get_amount", "auth_failed"]
    assert ("get_amount", "on_error", "invalid_amount") in g.dangling
    assert g.edges["get_amount"] == [Edge("next", "get_from_account")]
    assert all(c is None for c in g.container.values())
    assert g.index["service_error"] == 15


def test_step_graph_loops_and_failures() -> None:
    data = wf(
        {
            "id": "repeat",
            "type": "loop",
            "loop_condition": "loop_index < 3",
            "loop_steps": ["a", "b"],
            "next_step": "done",
        },
        {"id": "a", "type": "custom_action", "action_name": "x", "critical": False},
        {
            "id": "b",
            "type": "condition",
            "condition": "1",
            "if_true": "repeat",
            "if_false": "done",
        },
        say("done"),
        {"id": "c", "type": "api_call", "integration": "i", "endpoint": "/", "critical": False},
        {"id": "d", "type": "wait_input"},
    )
    g = step_graph(Workflow(**data))
    assert g.loop_bodies == {"repeat": ["a", "b"]}
    assert g.container == {
        "repeat": None,
        "a": "repeat",
        "b": "repeat",
        "done": None,
        "c": None,
        "d": None,
    }
    assert g.edges["repeat"] == [
        Edge("body", "a"),
        Edge("next", "done"),
        Edge("error", None),
    ]
    # a body step continues at the next body step; critical: false continues there on failure too
    assert g.edges["a"] == [Edge("next", "b"), Edge("error", "b")]
    assert g.edges["b"] == [Edge("true", "repeat"), Edge("false", "done"), Edge("error", None)]
    assert g.edges["c"] == [Edge("next", None), Edge("error", None)]
    assert g.edges["d"] == [Edge("next", None)]  # wait_input cannot fail


def test_step_graph_last_body_step_goes_back_to_the_loop() -> None:
    data = wf(
        {"id": "l", "type": "loop", "loop_condition": "True", "loop_steps": ["x", "y"]},
        say("x", next_step="l"),
        say("y"),
    )
    g = step_graph(Workflow(**data))
    assert g.edges["x"] == [Edge("next", "y")]
    assert g.edges["y"] == [Edge("loop", "l")]


def test_step_graph_never_raises_on_broken_loops() -> None:
    data = wf(
        {"id": "a", "type": "loop", "loop_condition": "1", "loop_steps": ["b", "a", "zz", "b"]},
        {"id": "b", "type": "loop", "loop_condition": "1", "loop_steps": ["a"]},
    )
    g = step_graph(Workflow(**data))
    assert g.container["a"] is None or g.container["b"] is None


# --------------------------------------------------------------------------- flow semantics


def test_custom_action_may_define_anything() -> None:
    data = wf(
        {
            "id": "act",
            "type": "custom_action",
            "action_name": "lookup",
            "next_step": "show",
            "on_error": "oops",
        },
        say("show", "{anything} {at_all}"),
        say("oops", "failed: {anything}"),
    )
    problems = check(data)
    # the success path may have anything; the error path does not get the action's result
    assert [(p.code, p.step) for p in problems] == [("undefined_name", "oops")]


def test_plugin_step_may_define_anything_and_waits() -> None:
    registry = Registry()
    registry.add("step_types", "ask_approval", StepTypeSpec(_run, waits=True), "t")
    data = wf(
        {"id": "approve", "type": "ask_approval", "next_step": "check"},
        {
            "id": "check",
            "type": "condition",
            "condition": "approved",
            "if_true": "done",
            "if_false": "approve",
            "on_error": "done",
        },
        say("done", "{decision}"),
    )
    assert check(data, CheckContext(registry=registry)) == []


async def _run(ctx: Any, step: Any, message: Any) -> str:
    return "ok"


def test_non_waiting_plugin_step_in_a_cycle_spins() -> None:
    registry = Registry()
    registry.add("step_types", "notify", StepTypeSpec(_run, waits=False), "t")
    data = wf(
        {"id": "ping", "type": "notify", "next_step": "check", "on_error": "done"},
        {
            "id": "check",
            "type": "condition",
            "condition": "text",
            "if_true": "ping",
            "if_false": "done",
            "on_error": "done",
        },
        say("done"),
    )
    assert codes(check(data, CheckContext(registry=registry))) == ["spin_cycle"]


def test_names_defined_on_some_path_are_fine() -> None:
    data = wf(
        {
            "id": "branch",
            "type": "condition",
            "condition": "intent == 'x'",
            "if_true": "ask",
            "if_false": "show",
        },
        {
            "id": "ask",
            "type": "slot_fill",
            "slot": "amount",
            "prompt": "How much?",
            "on_error": "show",
            "next_step": "show",
        },
        say("show", "{amount} {variables.currency} {user_id} {turn} {attempt}"),
        variables={"currency": "USD"},
    )
    assert check(data) == []


def test_names_from_response_mapping_wait_input_slot_and_variables() -> None:
    data = wf(
        {"id": "wait", "type": "wait_input", "slot": "answer", "next_step": "hook"},
        {
            "id": "hook",
            "type": "webhook",
            "event": "paid",
            "response_mapping": {"id": "payment_id"},
            "on_error": "bye",
            "next_step": "call",
        },
        {
            "id": "call",
            "type": "api_call",
            "integration": "i",
            "endpoint": "/p/{payment_id}",
            "response_mapping": {"data.0.total": "total"},
            "on_error": "bye",
            "next_step": "check",
        },
        {
            "id": "check",
            "type": "condition",
            "condition": "total > limit and answer and variables['payment_id']",
            "if_true": "bye",
            "if_false": "bye",
        },
        say("bye", "{total} {event_payload}"),
        variables={"limit": 3},
    )
    assert check(data) == []


def test_slot_is_not_defined_in_its_own_prompt_or_on_its_error_path() -> None:
    data = wf(
        {
            "id": "ask",
            "type": "slot_fill",
            "slot": "amount",
            "prompt": ["How much?", "Still need {amount}"],
            "on_error": "fail",
            "next_step": "ok",
        },
        say("ok", "{amount}"),
        say("fail", "gave up on {amount}"),
    )
    problems = check(data)
    assert [(p.code, p.step, str(p.location)) for p in problems] == [
        ("undefined_name", "ask", "<dict>:steps[0].prompt[1]"),
        ("undefined_name", "fail", "<dict>:steps[2].response_text"),
    ]


def test_names_flow_around_loops() -> None:
    # the second iteration sees the slot filled in the first one: some path defines it
    data = wf(
        {
            "id": "again",
            "type": "loop",
            "loop_condition": "loop_index < 3",
            "loop_steps": ["show", "ask"],
            "next_step": "done",
        },
        say("show", "last: {item}"),
        {"id": "ask", "type": "slot_fill", "slot": "item", "prompt": "Item?", "on_error": "done"},
        say("done", "{item} {iterations}"),
    )
    assert check(data) == []


def test_loop_back_edges_are_not_spin_cycles_but_outside_reentry_is() -> None:
    body_continue = wf(
        {
            "id": "l",
            "type": "loop",
            "loop_condition": "loop_index < 3",
            "loop_steps": ["c", "s"],
            "next_step": "done",
        },
        {
            "id": "c",
            "type": "condition",
            "condition": "loop_index == 1",
            "if_true": "l",
            "if_false": "s",
            "on_error": "done",
        },
        say("s", "tick"),
        say("done"),
    )
    assert check(body_continue) == []
    outside = wf(
        {
            "id": "l",
            "type": "loop",
            "loop_condition": "loop_index < 3",
            "loop_steps": ["s"],
            "next_step": "back",
            "on_error": "done",
        },
        say("s", "tick"),
        {
            "id": "back",
            "type": "condition",
            "condition": "text",
            "if_true": "l",
            "if_false": "done",
            "on_error": "done",
        },
        say("done"),
    )
    assert codes(check(outside)) == ["spin_cycle"]


def test_condition_in_body_may_leave_the_loop_or_jump_within_it() -> None:
    data = wf(
        {
            "id": "outer",
            "type": "loop",
            "loop_condition": "1",
            "loop_steps": ["inner", "c"],
            "next_step": "done",
            "on_error": "done",
        },
        {
            "id": "inner",
            "type": "loop",
            "loop_condition": "1",
            "loop_steps": ["w", "c2"],
            "on_error": "done",
        },
        {"id": "w", "type": "wait_input"},
        {
            "id": "c2",
            "type": "condition",
            "condition": "text == 'x'",
            "if_true": "c",
            "if_false": "done",
            "on_error": "done",
        },
        {
            "id": "c",
            "type": "condition",
            "condition": "text == 'y'",
            "if_true": "outer",
            "if_false": "w",
            "on_error": "done",
        },
        say("done"),
    )
    problems = check(data)
    # c2 (in inner) may go to c (in outer, which encloses inner); c may not enter inner's body
    assert [(p.code, p.step, str(p.location)) for p in problems] == [
        ("loop_body", "c", "<dict>:steps[4].if_false")
    ]
    assert "jumps into the body of loop 'inner'" in problems[0].message


def test_error_handling_target_is_reachable_and_its_text_is_checked() -> None:
    data = wf(
        {
            "id": "call",
            "type": "api_call",
            "integration": "i",
            "endpoint": "/x",
            "next_step": "ok",
        },
        say("ok"),
        say("sorry", "failed: {error} {nope}"),
        error_handling={"response_text": "Oops {reason}", "next_step": "sorry"},
    )
    problems = check(data)
    assert [(p.code, str(p.location)) for p in problems] == [
        ("undefined_name", "<dict>:steps[2].response_text"),
        ("undefined_name", "<dict>:error_handling.response_text"),
    ]
    assert "'nope'" in problems[0].message and "'reason'" in problems[1].message


def test_error_handling_target_inside_a_loop_body_is_an_error() -> None:
    data = wf(
        {"id": "l", "type": "loop", "loop_condition": "1", "loop_steps": ["s"], "on_error": "s"},
        say("s"),
        error_handling={"next_step": "s"},
    )
    got = [(p.code, str(p.location)) for p in check(data)]
    assert ("loop_body", "<dict>:error_handling.next_step") in got
    assert ("loop_body", "<dict>:steps[0].on_error") in got


def test_start_inside_a_loop_body() -> None:
    data = wf(
        say("s"),
        {"id": "l", "type": "loop", "loop_condition": "1", "loop_steps": ["s"]},
    )
    got = codes(check(data))
    assert got == ["loop_body"]  # s -> back to l: both reachable, but it starts in a body


def test_critical_false_continues_without_handler_warning() -> None:
    data = wf(
        {
            "id": "call",
            "type": "api_call",
            "integration": "i",
            "endpoint": "/x",
            "critical": False,
            "next_step": "ok",
        },
        say("ok"),
    )
    assert check(data) == []


def test_goto_subflow_is_known_only_in_a_bot_and_may_wait() -> None:
    data = wf(
        {"id": "sub", "type": "goto", "workflow": "other", "next_step": "check"},
        {
            "id": "check",
            "type": "condition",
            "condition": "done_flag",
            "if_true": "end",
            "if_false": "sub",
            "on_error": "end",
        },
        say("end"),
    )
    assert check(data) == []  # no workflow ids known: not checked; sub-flow may set names / wait
    problems = check(data, CheckContext(workflow_ids=frozenset({"t", "another"})))
    assert codes(problems) == ["unknown_workflow"]


def test_registry_none_skips_plugin_names_and_filters() -> None:
    data = wf(
        {"id": "a", "type": "auth", "auth_provider": "nope", "next_step": "b", "on_error": "b"},
        {"id": "b", "type": "my_plugin_type", "next_step": "c"},
        say("c", "{{ text | shout }}"),
    )
    assert check(data) == []
    problems = check(data, CheckContext(registry=Registry()))
    assert codes(problems) == ["unknown_auth_provider", "unknown_step_type", "template_syntax"]


def test_plugin_filters_are_known_with_a_registry() -> None:
    registry = Registry()
    registry.add("template_filters", "shout", str.upper, "t")
    data = wf(say("c", "{{ text | shout }}"))
    assert check(data, CheckContext(registry=registry)) == []


def test_templates_from_context_and_workflow_with_includes() -> None:
    data = wf(
        {"id": "r", "type": "response", "template": "receipt"},
        templates={"footer": "Thanks, {{ user_id }} {{ missing_here }}"},
    )
    ctx = CheckContext(templates={"receipt": "Done {% include 'footer' %}"})
    problems = check(data, ctx)
    assert [(p.code, p.step) for p in problems] == [("undefined_name", "r")]
    assert "'missing_here'" in problems[0].message


def test_jinja_locals_and_globals_are_not_undefined() -> None:
    text = "{% for x in range(3) %}{{ loop.index }}{{ x }}{% endfor %}{% set y = 1 %}{{ y }}"
    assert check(wf(say("s", text))) == []


def test_system_names() -> None:
    assert {
        "authenticated",
        "attempt",
        "loop_index",
        "error",
        "event_payload",
        "turn",
    } <= SYSTEM_NAMES


def test_unknown_intent_only_when_intents_are_declared() -> None:
    data = wf(say("s"), trigger_intent="other")
    assert check(data) == []
    cfg = BotConfig(intents={"greet": IntentConfig()})
    problems = check(data, CheckContext(config=cfg))
    assert [(p.code, p.severity) for p in problems] == [("unknown_intent", "warning")]


def test_problems_are_collected_not_stopped_at_the_first() -> None:
    data = wf(
        {"id": "a", "type": "condition", "condition": "x >", "if_true": "nope", "if_false": "b"},
        say("b", "{% if %}"),
        say("b"),
        {"id": "c", "type": "custom_action"},
    )
    got = set(codes(check(data)))
    assert {
        "expression_syntax",
        "undefined_step",
        "template_syntax",
        "duplicate_id",
        "missing_field",
        "unreachable",
    } <= got


def test_check_never_raises_on_internal_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import statechat.compiler.checks as checks

    def boom(*a: Any, **k: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(checks._Checker, "check_flow", boom)
    problems = check(wf(say("s")))
    assert codes(problems) == ["internal_error"]
    assert "kaboom" in problems[0].message


# --------------------------------------------------------------------------- bots


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_check_bot_cross_workflow(tmp_path: Path) -> None:
    _write(
        tmp_path / "a.yaml",
        "workflow_id: one\ntrigger_intent: hi\nsteps:\n  - {id: s, type: response, response_text: a}\n",
    )
    _write(
        tmp_path / "b.yaml",
        "workflow_id: one\ntrigger_intent: hello\nsteps:\n  - {id: s, type: response, response_text: b}\n",
    )
    _write(
        tmp_path / "c.yaml",
        "workflow_id: three\ntrigger_intent: hi\nsteps:\n  - {id: s, type: goto, workflow: too}\n",
    )
    _write(tmp_path / "d.yaml", "workflow_id: [broken\n")
    (tmp_path / "templates").mkdir()
    _write(tmp_path / "templates" / "bad.j2", "line one\n{% if x %}\n")
    _write(tmp_path / "templates" / "inc.j2", "{% include 'nothere' %}")
    problems = check_bot(load_bot(tmp_path))
    got = [(p.code, str(p.location)) for p in problems]
    assert got[0][0] == "yaml_syntax"  # bot.problems first
    assert ("template_syntax", f"{tmp_path / 'templates' / 'bad.j2'}:2:1") in got
    assert ("unknown_template", f"{tmp_path / 'templates' / 'inc.j2'}:1:1") in got
    assert ("unknown_workflow", f"{tmp_path / 'c.yaml'}:4:35") in got
    assert ("duplicate_workflow", f"{tmp_path / 'b.yaml'}:1:14") in got
    assert ("duplicate_trigger", f"{tmp_path / 'c.yaml'}:2:17") in got
    dup = next(p for p in problems if p.code == "duplicate_workflow")
    assert "a.yaml:1:14" in dup.message


def test_check_bot_goto_known_workflow(tmp_path: Path) -> None:
    _write(
        tmp_path / "a.yaml", "workflow_id: one\nsteps:\n  - {id: s, type: goto, workflow: two}\n"
    )
    _write(
        tmp_path / "b.yaml",
        "workflow_id: two\nsteps:\n  - {id: s, type: response, response_text: b}\n",
    )
    assert check_bot(load_bot(tmp_path)) == []


# --------------------------------------------------------------------------- loader problems


def _load_problems(path: Path) -> list[Problem]:
    with pytest.raises(CompileError) as info:
        load_workflow_file(path)
    return info.value.problems


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"workflow_id: x\x00\x01\x02")
    [problem] = _load_problems(p)
    assert problem.code == "encoding" and "binary" in problem.message


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes("workflow_id: x\nname: caf\u00e9\n".encode("latin-1"))
    [problem] = _load_problems(p)
    assert problem.code == "encoding"
    assert problem.location is not None
    assert (problem.location.line, problem.location.column) == (2, 10)
    assert "0xe9" in problem.message


def test_ten_megabyte_file(tmp_path: Path) -> None:
    p = tmp_path / "huge.yaml"
    line = "# " + "x" * 1021 + "\n"
    with p.open("w") as fh:
        fh.write("workflow_id: huge\n")
        for _ in range(10 * 1024):
            fh.write(line)
    assert p.stat().st_size > MAX_FILE_BYTES
    [problem] = _load_problems(p)
    assert problem.code == "too_large" and "MB" in problem.message


def test_deeply_nested_yaml(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "deep.yaml", "workflow_id: x\nvariables: " + "[" * 5000 + "]" * 5000 + "\n"
    )
    [problem] = _load_problems(p)
    assert problem.code == "yaml_syntax"


def test_invalid_scalar_values_are_located(tmp_path: Path) -> None:
    p = _write(tmp_path / "date.yaml", "workflow_id: x\nvariables:\n  when: 2020-13-45\n")
    [problem] = _load_problems(p)
    assert problem.location is not None
    assert (problem.location.line, problem.location.column) == (3, 9)


def test_yes_no_on_off_stay_strings() -> None:
    data, _ = parse_text("a: [on, off, yes, no, y, n, true, false]", "x")
    assert data == {"a": ["on", "off", "yes", "no", "y", "n", True, False]}


def test_load_workflow_dict_on_odd_input() -> None:
    for bad in (
        {},
        {"workflow_id": "x", "steps": []},
        {"workflow_id": "x", "steps": [1]},
        {"workflow_id": "x", "steps": [{"id": "a"}]},
    ):
        with pytest.raises(CompileError):
            load_workflow_dict(bad)


# --------------------------------------------------------------------------- size


def generated(n: int) -> dict[str, Any]:
    """A long workflow: slot_fill / condition / api_call / response in a row, one loop per 100."""
    steps: list[dict[str, Any]] = []
    for i in range(n):
        nxt = f"s{i + 1}" if i + 1 < n else "fail"
        k = i % 5
        if k == 0:
            s = {
                "id": f"s{i}",
                "type": "slot_fill",
                "slot": f"v{i}",
                "prompt": f"Value {i}?",
                "validation": {"type": "number"},
                "on_error": "fail",
                "next_step": nxt,
            }
        elif k == 1:
            s = {
                "id": f"s{i}",
                "type": "condition",
                "condition": f"v{i - 1} > 0 and turn < 9",
                "if_true": nxt,
                "if_false": "fail",
            }
        elif k == 2:
            s = {
                "id": f"s{i}",
                "type": "api_call",
                "integration": "core",
                "method": "POST",
                "endpoint": f"/x/{{v{i - 2}}}",
                "request_body": {"v": f"{{v{i - 2}}}"},
                "response_mapping": {"r": f"r{i}"},
                "on_error": "fail",
                "next_step": nxt,
            }
        elif k == 3:
            s = {
                "id": f"s{i}",
                "type": "response",
                "next_step": nxt,
                "response_text": f"Got {{{{ r{i - 1} }}}} for {{v{i - 3}}} ({i})",
            }
        else:
            s = {
                "id": f"s{i}",
                "type": "loop",
                "loop_condition": "loop_index < 2",
                "loop_steps": [f"b{i}"],
                "next_step": nxt,
            }
            steps.append({"id": f"b{i}", "type": "response", "response_text": f"tick {i}"})
        steps.append(s)
    steps.append({"id": "fail", "type": "response", "response_text": "failed: {error}"})
    return {"workflow_id": f"big{n}", "steps": steps}


@pytest.mark.parametrize("n", [1000, 10_000])
def test_large_workflows_load_and_check(n: int, tmp_path: Path) -> None:
    import yaml

    data = generated(n)
    path = tmp_path / "big.yaml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(data, Dumper=dumper, sort_keys=False))
    t0 = time.perf_counter()
    lw = load_workflow_file(path)
    t1 = time.perf_counter()
    problems = check_workflow(lw)
    t2 = time.perf_counter()
    print(f"\n{n} steps: load {t1 - t0:.3f}s, check {t2 - t1:.3f}s")
    assert problems == [], "\n".join(map(str, problems[:5]))
    # the same workflow with a broken reference at the end still checks in one pass
    data["steps"][-2]["next_step"] = "nowhere"
    problems = check_workflow(load_workflow_dict(data))
    assert "undefined_step" in codes(problems)
