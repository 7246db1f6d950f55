"""Every step type and failure path, on small workflows with inline plugins."""

from __future__ import annotations

from typing import Any

import pytest

from statechat import AuthResult, BotConfig, CompileError, StoreError, UsageError, hookimpl
from statechat.stores.memory import MemoryStore
from tests.runtime.conftest import MFA_CODE, Bank, converse


def wf(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"workflow_id": extra.pop("workflow_id", "t"), "trigger_intent": "go", "steps": steps,
            **extra}


class Tools:
    """An inline plugin: actions, an auth provider and an integration recording its calls."""

    __name__ = "tools"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    @hookimpl
    def register_actions(self, register: Any) -> None:
        async def add(ctx: Any, a: int, b: int) -> dict[str, Any]:
            return {"total": a + b}

        async def explode(ctx: Any) -> None:
            raise RuntimeError("kaboom")

        class Unprintable(Exception):
            def __str__(self) -> str:  # a bug inside the error: escapes the step's handling
                raise ValueError("cannot describe myself")

        async def buggy(ctx: Any) -> None:
            raise Unprintable()

        register("add", add)
        register("explode", explode)
        register("buggy", buggy)

    @hookimpl
    def register_auth_providers(self, register: Any) -> None:
        class Deny:
            async def verify_user(self, user_id: str, provider: str, ctx: Any) -> AuthResult:
                return AuthResult.denied("not you")

        register("deny", Deny())

    @hookimpl
    def register_integrations(self, register: Any) -> None:
        tools = self

        class Echo:
            async def request(self, method: str, endpoint: str, headers: Any = None,
                              json: Any = None) -> Any:
                tools.calls.append((method, endpoint, json))
                return {"items": [{"id": 7}], "echo": json}

        register("echo", Echo())


async def start(bot: Any, session: str = "s1", **kw: Any) -> Any:
    return await bot.handle_message(session, "u1", "go", intent="go", **kw)


async def test_response_template_and_end(make_bot: Any) -> None:
    bot = make_bot([wf([{"id": "hi", "type": "response", "response_text": "Hi {user_id}!"}])],
                   entry_points=False)
    turn = await start(bot)
    assert turn.responses == ["Hi u1!"] and turn.completed and turn.state is None


async def test_named_template_from_workflow(make_bot: Any) -> None:
    bot = make_bot([wf([{"id": "hi", "type": "response", "template": "greet"}],
                       templates={"greet": "{% if user_id %}Hello {{ user_id | upper }}{% endif %}"})],
                   entry_points=False)
    assert (await start(bot)).responses == ["Hello U1"]


async def test_slot_fill_escalating_prompts_and_retry_limit(make_bot: Any) -> None:
    steps = [
        {"id": "age", "type": "slot_fill", "slot": "age", "retry_limit": 2,
         "prompt": ["How old are you?", "Your age in years, please?", "Last try: a number?"],
         "validation": {"type": "integer", "min": 0, "max": 150},
         "next_step": "thanks", "on_error": "bye"},
        {"id": "thanks", "type": "response", "response_text": "Thanks, {age}."},
        {"id": "bye", "type": "response", "response_text": "Giving up after {attempt} tries."},
    ]
    bot = make_bot([wf(steps)], entry_points=False)
    assert (await start(bot)).responses == ["How old are you?"]
    t1 = await bot.handle_message("s1", "u1", "old")
    assert t1.responses[-1] == "Your age in years, please?" and t1.variables["attempt"] == 1
    t2 = await bot.handle_message("s1", "u1", "older")
    assert t2.responses[-1] == "Last try: a number?"
    t3 = await bot.handle_message("s1", "u1", "oldest")
    assert t3.responses == ["Giving up after 3 tries."] and t3.completed
    bot2 = make_bot([wf(steps)], entry_points=False)
    await start(bot2)
    ok = await bot2.handle_message("s1", "u1", "42")
    assert ok.responses == ["Thanks, 42."] and ok.variables["age"] == 42


async def test_slot_prefilled_from_trigger_entities(make_bot: Any) -> None:
    steps = [{"id": "n", "type": "slot_fill", "slot": "n", "prompt": "n?",
              "validation": {"type": "number"}, "next_step": "show"},
             {"id": "show", "type": "response", "response_text": "n={n}"}]
    bot = make_bot([wf(steps)], entry_points=False)
    turn = await start(bot, entities={"n": "12"})
    assert turn.responses == ["n=12"]


async def test_condition_error_goes_to_on_error_never_if_false(make_bot: Any) -> None:
    steps = [
        {"id": "check", "type": "condition", "condition": "missing > 3", "if_true": "yes",
         "if_false": "no", "on_error": "oops"},
        {"id": "yes", "type": "response", "response_text": "yes"},
        {"id": "no", "type": "response", "response_text": "no"},
        {"id": "oops", "type": "response", "response_text": "could not decide: {error}"},
    ]
    bot = make_bot([wf(steps, variables={"missing": None})], entry_points=False)
    turn = await start(bot)
    assert turn.responses[0].startswith("could not decide:")
    assert "TypeError" in turn.responses[0]


async def test_condition_branches(make_bot: Any) -> None:
    steps = [
        {"id": "check", "type": "condition", "condition": "variables['n'] >= 10 and len(name) > 2",
         "if_true": "big", "if_false": "small"},
        {"id": "big", "type": "response", "response_text": "big"},
        {"id": "small", "type": "response", "response_text": "small"},
    ]
    big = make_bot([wf(steps, variables={"n": 10, "name": "Ann"})], entry_points=False)
    small = make_bot([wf(steps, variables={"n": 9, "name": "Ann"})], entry_points=False)
    assert (await start(big)).responses == ["big"]
    assert (await start(small)).responses == ["small"]


async def test_error_handling_used_without_on_error(make_bot: Any) -> None:
    steps = [
        {"id": "boom", "type": "custom_action", "action_name": "explode", "next_step": "never"},
        {"id": "never", "type": "response", "response_text": "never"},
        {"id": "recover", "type": "response", "response_text": "recovered"},
    ]
    bot = make_bot([wf(steps, error_handling={"response_text": "Something broke: {error}",
                                              "next_step": "recover"})], plugins=(Tools(),),
                   entry_points=False)
    turn = await start(bot)
    assert turn.responses == ["Something broke: kaboom", "recovered"]


async def test_custom_action_result_is_merged(make_bot: Any) -> None:
    steps = [
        {"id": "sum", "type": "custom_action", "action_name": "add",
         "parameters": {"a": "{x}", "b": 2}, "next_step": "show"},
        {"id": "show", "type": "response", "response_text": "total={total}"},
    ]
    bot = make_bot([wf(steps, variables={"x": 40})], plugins=(Tools(),), entry_points=False)
    assert (await start(bot)).responses == ["total=42"]


async def test_critical_false_continues(make_bot: Any) -> None:
    steps = [
        {"id": "boom", "type": "custom_action", "action_name": "explode", "critical": False,
         "next_step": "after"},
        {"id": "after", "type": "response", "response_text": "went on ({error})"},
    ]
    bot = make_bot([wf(steps)], plugins=(Tools(),), entry_points=False)
    assert (await start(bot)).responses == ["went on (kaboom)"]


async def test_auth_denied_never_falls_through(make_bot: Any) -> None:
    steps = [
        {"id": "auth", "type": "auth", "auth_provider": "deny", "next_step": "secret",
         "on_error": "nope"},
        {"id": "secret", "type": "response", "response_text": "the secret"},
        {"id": "nope", "type": "response", "response_text": "denied: {error}"},
    ]
    bot = make_bot([wf(steps)], plugins=(Tools(),), entry_points=False)
    turn = await start(bot)
    assert turn.responses == ["denied: not you"]
    assert turn.variables["authenticated"] is False


async def test_auth_session_provider_denies_anonymous(make_bot: Any) -> None:
    steps = [{"id": "auth", "type": "auth", "auth_provider": "session", "next_step": "in",
              "on_error": "out"},
             {"id": "in", "type": "response", "response_text": "in"},
             {"id": "out", "type": "response", "response_text": "out"}]
    bot = make_bot([wf(steps)], entry_points=False)
    assert (await bot.handle_message("a", "anonymous", "go", intent="go")).responses == ["out"]
    assert (await bot.handle_message("b", "alice", "go", intent="go")).responses == ["in"]


async def test_auth_mfa_challenge(bank: Bank, make_bot: Any) -> None:
    steps = [{"id": "auth", "type": "auth", "auth_provider": "mfa", "retry_limit": 1,
              "next_step": "in", "on_error": "out"},
             {"id": "in", "type": "response", "response_text": "welcome"},
             {"id": "out", "type": "response", "response_text": "locked out"}]
    bot = make_bot([wf(steps)])
    first = await start(bot)
    assert "code" in first.responses[0] and first.waiting_for == "auth:mfa"
    wrong = await bot.handle_message("s1", "u1", "000000")
    assert wrong.state == "t.auth" and "not right" in wrong.responses[0]
    right = await bot.handle_message("s1", "u1", MFA_CODE)
    assert right.responses == ["welcome"] and right.variables["authenticated"] is True
    assert "_mfa" not in right.variables and MFA_CODE not in str(await bot.store.load("s1"))
    bot2 = make_bot([wf(steps)])
    await start(bot2)
    await bot2.handle_message("s1", "u1", "1")
    assert (await bot2.handle_message("s1", "u1", "2")).responses == ["locked out"]


async def test_api_call_body_types_mapping_and_idempotency_key(make_bot: Any) -> None:
    tools = Tools()
    steps = [
        {"id": "post", "type": "api_call", "integration": "echo", "method": "post",
         "endpoint": "/things/{name}", "request_body": {"amount": "{amount}", "note": "for {name}",
                                                        "nested": ["{amount}"]},
         "response_mapping": {"items.0.id": "thing_id", "echo.amount": "sent"},
         "next_step": "show", "on_error": "bad"},
        {"id": "show", "type": "response", "response_text": "{thing_id} {sent}"},
        {"id": "bad", "type": "response", "response_text": "bad {error}"},
    ]
    bot = make_bot([wf(steps, variables={"amount": 500, "name": "a b"})], plugins=(tools,),
                   entry_points=False)
    assert (await start(bot)).responses == ["7 500"]
    method, endpoint, body = tools.calls[0]
    assert (method, endpoint) == ("POST", "/things/a%20b")
    assert body == {"amount": 500, "note": "for a b", "nested": [500]}


async def test_api_call_missing_response_path_is_an_error(make_bot: Any) -> None:
    steps = [
        {"id": "get", "type": "api_call", "integration": "echo", "endpoint": "/x",
         "response_mapping": {"items.5.id": "x"}, "next_step": "ok", "on_error": "bad"},
        {"id": "ok", "type": "response", "response_text": "ok"},
        {"id": "bad", "type": "response", "response_text": "bad: {error}"},
    ]
    bot = make_bot([wf(steps)], plugins=(Tools(),), entry_points=False)
    assert (await start(bot)).responses == ["bad: the response has no 'items.5.id'"]


async def test_loop_runs_at_most_max_iterations(make_bot: Any) -> None:
    steps = [
        {"id": "loop", "type": "loop", "loop_condition": "True", "loop_steps": ["say"],
         "max_iterations": 3, "next_step": "end"},
        {"id": "say", "type": "response", "response_text": "round {loop_index}"},
        {"id": "end", "type": "response", "response_text": "done after {iterations.loop}"},
    ]
    bot = make_bot([wf(steps)], entry_points=False)
    turn = await start(bot)
    assert turn.responses == ["round 0", "round 1", "round 2", "done after 3"]


async def test_loop_body_waits_for_input(make_bot: Any) -> None:
    bot = make_bot()
    first = await bot.handle_message("s1", "u1", "add payees")
    assert first.responses[-1] == "Name of payee #1? (say 'done' to finish)"
    t = await converse(bot, "s1", "Alice", "Bob", "done")
    assert t[0].responses == ["Added Alice.", "Name of payee #2? (say 'done' to finish)"]
    assert t[-1].completed and t[-1].responses == ["All set: 3 round(s) of payees."]


async def test_goto_and_subflow(make_bot: Any) -> None:
    main = wf([
        {"id": "hello", "type": "response", "response_text": "main", "next_step": "jump"},
        {"id": "jump", "type": "goto", "next_step": "call_sub"},
        {"id": "call_sub", "type": "goto", "workflow": "sub", "next_step": "back"},
        {"id": "back", "type": "response", "response_text": "back in main"},
    ], workflow_id="main")
    sub = {"workflow_id": "sub", "steps": [
        {"id": "ask", "type": "wait_input", "slot": "answer", "prompt": "sub asks",
         "next_step": "end"},
        {"id": "end", "type": "response", "response_text": "sub got {answer}"},
    ]}
    bot = make_bot([main, sub], entry_points=False)
    turn = await start(bot)
    assert turn.responses == ["main", "sub asks"] and turn.state == "sub.ask"
    turn = await bot.handle_message("s1", "u1", "42")
    assert turn.responses == ["sub got 42", "back in main"]
    assert turn.state is None and turn.completed


async def test_wait_input_stores_text(make_bot: Any) -> None:
    steps = [{"id": "w", "type": "wait_input", "prompt": "Say anything", "slot": "said",
              "next_step": "echo"},
             {"id": "echo", "type": "response", "response_text": "You said {said} ({text})"}]
    bot = make_bot([wf(steps)], entry_points=False)
    assert (await start(bot)).waiting_for == "said"
    assert (await bot.handle_message("s1", "u1", "hi")).responses == ["You said hi (hi)"]


async def test_webhook_event_delivered_while_waiting(bank: Bank, make_bot: Any) -> None:
    bot = make_bot()
    first = await bot.handle_message("s1", "u1", "I lost my card")
    assert first.waiting_for == "auth:mfa"
    await converse(bot, "s1", MFA_CODE, "lost")
    turn = await bot.deliver_event("s1", "card_shipped", {"tracking": "TRK-9"})
    assert turn.responses == ["Your new card has shipped! Tracking number: TRK-9."]
    assert turn.completed


async def test_webhook_event_before_the_wait_is_kept(make_bot: Any) -> None:
    steps = [{"id": "ask", "type": "wait_input", "prompt": "ready?", "next_step": "wait"},
             {"id": "wait", "type": "webhook", "event": "paid", "response_mapping": {"id": "pid"},
              "next_step": "done", "on_error": "late"},
             {"id": "done", "type": "response", "response_text": "paid {pid}"},
             {"id": "late", "type": "response", "response_text": "late"}]
    bot = make_bot([wf(steps)], entry_points=False)
    await start(bot)
    early = await bot.deliver_event("s1", "paid", {"id": "P1"})
    assert early.responses == [] and early.state == "t.ask"
    assert (await bot.handle_message("s1", "u1", "yes")).responses == ["paid P1"]


async def test_webhook_timeout_goes_to_on_error(make_bot: Any) -> None:
    steps = [{"id": "wait", "type": "webhook", "event": "paid", "timeout": 60,
              "next_step": "done", "on_error": "late"},
             {"id": "done", "type": "response", "response_text": "paid"},
             {"id": "late", "type": "response", "response_text": "too late: {error}"}]
    bot = make_bot([wf(steps)], entry_points=False)
    await start(bot)
    snap = await bot.store.load("s1")
    assert snap is not None
    deadlines = snap["stack"][0]["vars"]["_deadlines"]
    deadlines["wait"] -= 61  # as if a minute had passed
    turn = snap["turn"]
    snap["turn"] += 1
    await bot.store.save("s1", snap, expected_turn=turn)
    late = await bot.handle_message("s1", "u1", "anything?")
    assert late.responses == ["too late: no 'paid' event within 60s"]


async def test_unknown_session_event_is_a_usage_error(make_bot: Any) -> None:
    bot = make_bot([wf([{"id": "a", "type": "response", "response_text": "a"}])],
                   entry_points=False)
    with pytest.raises(UsageError) as err:
        await bot.deliver_event("nope", "x", {})
    assert err.value.status == 404


async def test_steps_per_turn_limit_ends_the_workflow_safely(make_bot: Any) -> None:
    steps = [
        {"id": "loop", "type": "loop", "loop_condition": "True", "loop_steps": ["say"],
         "max_iterations": 1000, "next_step": "end"},
        {"id": "say", "type": "response", "response_text": "."},
        {"id": "end", "type": "response", "response_text": "end"},
    ]
    config = BotConfig.model_validate({"limits": {"max_steps_per_turn": 20}})
    bot = make_bot([wf(steps)], config=config, entry_points=False)
    turn = await start(bot)
    assert turn.responses[-1] == "Sorry, something went wrong."
    assert turn.state is None and turn.completed
    again = await start(bot)  # the session is intact and usable
    assert again.responses[-1] == "Sorry, something went wrong."
    assert again.turn == 2


async def test_a_bug_escaping_a_step_stops_the_machine_there(make_bot: Any) -> None:
    tools = Tools()
    steps = [
        {"id": "bug", "type": "custom_action", "action_name": "buggy", "next_step": "after",
         "on_error": "after"},
        {"id": "after", "type": "api_call", "integration": "echo", "endpoint": "/after"},
    ]
    bot = make_bot([wf(steps)], plugins=(tools,), entry_points=False)
    turn = await start(bot)
    assert turn.responses == ["Sorry, something went wrong."]
    assert turn.completed and turn.state is None
    assert tools.calls == []  # neither next_step nor on_error ran
    snap = await bot.store.load("s1")
    assert snap is not None and snap["turn"] == 1 and snap["stack"] == []
    again = await start(bot)  # the session is intact and usable
    assert again.turn == 2 and tools.calls == []


async def test_a_digression_that_fails_gives_the_word_back_to_the_interrupted_flow(
    make_bot: Any,
) -> None:
    ask = wf([{"id": "ask", "type": "wait_input", "slot": "name", "prompt": "Your name?",
               "next_step": "hi"},
              {"id": "hi", "type": "response", "response_text": "Hi {name}."}], workflow_id="ask")
    ask["trigger_intent"] = "ask"
    buggy = wf([{"id": "bug", "type": "custom_action", "action_name": "buggy"}],
               workflow_id="buggy")
    buggy["trigger_intent"] = "buggy"
    spin = wf([{"id": "loop", "type": "loop", "loop_condition": "True", "loop_steps": ["say"],
                "max_iterations": 1000},
               {"id": "say", "type": "response", "response_text": "."}], workflow_id="spin")
    spin["trigger_intent"] = "spin"
    config = BotConfig.model_validate({"limits": {"max_steps_per_turn": 20}})
    bot = make_bot([ask, buggy, spin], plugins=(Tools(),), config=config, entry_points=False)
    await bot.handle_message("s1", "u1", "ask", intent="ask")
    for trigger in ("buggy", "spin"):  # a bug, then a flow that exceeds the step budget
        turn = await bot.handle_message("s1", "u1", trigger, intent=trigger)
        assert turn.responses[-3:] == [
            "Sorry, something went wrong.", "Now, back to where we were.", "Your name?"
        ]
        assert turn.state == "ask.ask" and turn.waiting_for == "name"
    done = await bot.handle_message("s1", "u1", "Ada")
    assert done.responses == ["Hi Ada."] and done.completed


async def test_a_loop_resumed_after_a_digression_keeps_counting(make_bot: Any) -> None:
    names = wf([
        {"id": "each", "type": "loop", "loop_condition": "True", "max_iterations": 3,
         "loop_steps": ["name"], "next_step": "done"},
        {"id": "name", "type": "slot_fill", "slot": "name", "prompt": "Name {loop_index}?"},
        {"id": "done", "type": "response", "response_text": "{{ iterations.each }} names."},
    ], workflow_id="names")
    aside = wf([{"id": "say", "type": "response", "response_text": "Aside."}], workflow_id="aside")
    aside["trigger_intent"] = "aside"
    bot = make_bot([names, aside], entry_points=False)
    assert (await start(bot)).responses == ["Name 0?"]
    assert (await bot.handle_message("s1", "u1", "Ann")).responses == ["Name 1?"]
    back = await bot.handle_message("s1", "u1", "aside", intent="aside")
    assert back.responses == ["Aside.", "Now, back to where we were.", "Name 1?"]
    assert (await bot.handle_message("s1", "u1", "Bob")).responses == ["Name 2?"]
    last = await bot.handle_message("s1", "u1", "Cy")
    assert last.responses == ["3 names."] and last.completed  # max_iterations still holds


@pytest.mark.parametrize("where", [["t", "t__ask"], ["t___suspended"]])
async def test_errors_reported_by_the_engine_abort_the_turn(make_bot: Any, where: list[str]) -> None:
    """python-statemachine reports an error in a guard or in its own code as ``error.execution``;
    no workflow state may drop it (the message would go unanswered)."""
    from statemachine.orderedset import OrderedSet

    from statechat.machines.model import Frame, TurnAborted

    bot = make_bot([wf([{"id": "ask", "type": "wait_input", "next_step": "e"},
                        {"id": "e", "type": "response", "response_text": "e"}])],
                   entry_points=False)
    cls = bot.machine_class("t")
    frame = Frame("t", "v", {})
    frame.state = OrderedSet(where) if len(where) > 1 else where[0]
    machine = cls(model=frame)  # restored in that configuration: no enter runs
    with pytest.raises(TurnAborted) as aborted:
        await machine.send("error.execution", error=KeyError("inside the engine"))
    assert isinstance(aborted.value.error, KeyError)


class OutageOnFirstWrite(MemoryStore):
    """A store whose first write fails the way an unreachable server does."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    async def save(self, session_id: str, snapshot: dict[str, Any], *, expected_turn: int | None,
                   ttl: float | None = None) -> None:
        self.writes += 1
        if self.writes == 1:
            raise ConnectionError("connection refused")
        await super().save(session_id, snapshot, expected_turn=expected_turn, ttl=ttl)


async def test_store_outage_before_a_first_side_effect_fails_the_turn_not_the_step(
    make_bot: Any,
) -> None:
    tools = Tools()
    steps = [
        {"id": "post", "type": "api_call", "integration": "echo", "method": "post",
         "endpoint": "/pay", "next_step": "ok", "on_error": "notify"},
        {"id": "ok", "type": "response", "response_text": "paid"},
        {"id": "notify", "type": "api_call", "integration": "echo", "method": "post",
         "endpoint": "/notify", "next_step": "sorry"},
        {"id": "sorry", "type": "response", "response_text": "failed: {error}"},
    ]
    store = OutageOnFirstWrite()
    bot = make_bot([wf(steps)], plugins=(tools,), store=store, entry_points=False)
    with pytest.raises(StoreError):
        await start(bot)
    assert tools.calls == [] and await store.load("s1") is None  # nothing called, nothing saved
    turn = await start(bot)  # the store is back: the same first turn runs normally
    assert turn.responses == ["paid"] and turn.turn == 1
    assert [c[1] for c in tools.calls] == ["/pay"]


async def test_message_too_long_is_rejected_without_touching_the_session(make_bot: Any) -> None:
    bot = make_bot([wf([{"id": "w", "type": "wait_input", "next_step": "e"},
                        {"id": "e", "type": "response", "response_text": "e"}])],
                   entry_points=False)
    await start(bot)
    with pytest.raises(UsageError) as err:
        await bot.handle_message("s1", "u1", "x" * 5000)
    assert err.value.status == 413
    snap = await bot.store.load("s1")
    assert snap is not None and snap["turn"] == 1


def test_dangling_references_fail_to_compile() -> None:
    from statechat import Bot

    with pytest.raises(CompileError) as err:
        Bot.from_workflows([wf([{"id": "a", "type": "response", "response_text": "a",
                                 "next_step": "nowhere"}])], entry_points=False)
    assert "nowhere" in str(err.value)


class StepTypes:
    """A plugin adding two step types: an automatic one and one that waits for two messages."""

    __name__ = "step_types"

    @hookimpl
    def register_step_types(self, register: Any) -> None:
        from statechat import StepTypeSpec

        async def stamp(ctx: Any, step: Any, message: Any) -> str:
            ctx.set_variable("stamped", (step.parameters or {}).get("mark", "x"))
            return "ok"

        async def twice(ctx: Any, step: Any, message: Any) -> str:
            if message is None:
                return "wait"
            seen = ctx.get_variable("seen", 0) + 1
            ctx.set_variable("seen", seen)
            if message.text == "fail":
                return "error"
            return "ok" if seen >= 2 else "wait"

        register("stamp", StepTypeSpec(run=stamp))
        register("twice", StepTypeSpec(run=twice, waits=True))


async def test_plugin_step_types(make_bot: Any) -> None:
    steps = [
        {"id": "s", "type": "stamp", "parameters": {"mark": "M"}, "next_step": "t"},
        {"id": "t", "type": "twice", "next_step": "end", "on_error": "bad"},
        {"id": "end", "type": "response", "response_text": "stamped {stamped}, seen {seen}"},
        {"id": "bad", "type": "response", "response_text": "bad"},
    ]
    bot = make_bot([wf(steps)], plugins=(StepTypes(),), entry_points=False)
    first = await start(bot)
    assert first.responses == [] and first.state == "t.t" and first.waiting_for == "t"
    assert (await bot.handle_message("s1", "u1", "one")).state == "t.t"
    assert (await bot.handle_message("s1", "u1", "two")).responses == ["stamped M, seen 2"]
    bot2 = make_bot([wf(steps)], plugins=(StepTypes(),), entry_points=False)
    await start(bot2)
    assert (await bot2.handle_message("s1", "u1", "fail")).responses == ["bad"]


def test_unknown_step_type_is_a_compile_error() -> None:
    from statechat import Bot

    with pytest.raises(CompileError) as err:
        Bot.from_workflows([wf([{"id": "s", "type": "stmap", "next_step": "e"},
                                {"id": "e", "type": "response", "response_text": "e"}])],
                           plugins=(StepTypes(),), entry_points=False)
    assert "stmap" in str(err.value) and "stamp" in str(err.value)
