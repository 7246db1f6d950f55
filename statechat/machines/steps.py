"""Step executors: the callbacks each generated state runs (DESIGN.md section 3).

Every step state has an async ``enter`` that records the transition, does the step's work and
raises an outcome event: ``ok`` (continue), ``fail`` (``on_error``); waiting steps raise nothing
and handle ``message`` (or ``webhook`` / ``timeout``) with a targetless transition. Failures are
caught here and turned into ``fail`` so that a failing step always reaches its ``on_error``;
anything else (:class:`~statechat.machines.model.TurnLimitExceeded`, a bug) leaves the machine
wrapped in :class:`~statechat.machines.model.TurnAborted` and aborts the turn.

All callbacks are ``async`` (python-statemachine picks its engine from the callbacks; mixing sync
and async closures from one factory is a known trap).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from statechat.compiler.ir import StepIR, WorkflowIR
from statechat.machines.model import Frame, TurnAborted, TurnContext, TurnLimitExceeded
from statechat.machines.model import Transition as Row
from statechat.plugins.api import AuthResult, IntegrationError, Invalid, Valid

Callback = Callable[..., Awaitable[Any]]

#: The event that re-enters a suspended workflow through its history.
RESUME = "resume"

#: Seconds before retry n (exponential backoff): 0.05, 0.1, 0.2, ...
BACKOFF_BASE = 0.05


class StepFailed(Exception):
    """A step failed in an expected way (invalid response, denied, missing path, ...)."""


async def maybe_await(value: Any) -> Any:
    """Await ``value`` if it is awaitable (plugin code may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


def _name(fn: Callback, wf: WorkflowIR, step: StepIR, kind: str) -> Callback:
    return _aborting(fn, f"{kind}_{step.id}", f"{wf.root}.{step.id}.{kind}")


def _aborting(fn: Callback, name: str, qualname: str) -> Callback:
    """The callback the machine gets: ``fn`` whose unexpected errors abort the turn.

    Every generated callback takes ``(machine, event, source)``; the names identify it in
    diagrams and keep python-statemachine's signature cache apart per callback.
    """

    async def callback(machine: Any, event: Any = None, source: Any = None) -> None:
        try:
            await fn(machine, event, source)
        except Exception as exc:
            raise TurnAborted(exc) from exc

    callback.__name__ = name
    callback.__qualname__ = qualname
    return callback


def _enter_prologue(frame: Frame, wf: WorkflowIR, step: StepIR, event: Any, source: Any) -> TurnContext:
    """Count the step against the turn budget and record the transition into it."""
    rt = frame.turn
    rt.steps_taken += 1
    if rt.steps_taken > rt.services.config.limits.max_steps_per_turn:
        raise TurnLimitExceeded(
            f"workflow {wf.id!r} entered more than "
            f"{rt.services.config.limits.max_steps_per_turn} steps in one turn (at step {step.id!r})"
        )
    record(rt, wf, step.id, event, source)
    return rt


def record(rt: TurnContext, wf: WorkflowIR, step_id: str, event: Any, source: Any) -> None:
    """Append a transition to the turn's history; the previous row gets its outcome."""
    ev = getattr(event, "id", None) or str(event)
    src_state = getattr(source, "id", None)
    src = wf.state_to_step.get(src_state, src_state) if src_state else None
    rows = rt.transitions
    if rows and rows[-1].outcome is None and rows[-1].step == src:
        rows[-1].outcome = ev
    rows.append(Row(wf.id, step_id, ev, src, None, rt.now))


async def fail(machine: Any, frame: Frame, wf: WorkflowIR, step: StepIR, error: BaseException) -> None:
    """Record a step failure and raise ``fail`` (-> ``on_error`` / ``error_handling``)."""
    rt = frame.turn
    message = str(error) or type(error).__name__
    frame.vars["error"] = message
    rt.errors.append((wf.id, step.id, error))
    frame.waiting_for = None
    await machine.raise_("fail")


def _context(frame: Frame, rt: TurnContext) -> Any:
    return rt.services.execution_context(frame, rt)


# --------------------------------------------------------------------------- factories


def make_enter(wf: WorkflowIR, step: StepIR) -> Callback:
    """The ``enter`` callback of a step's state."""
    factory = _ENTER.get(step.type, _enter_plugin_step)
    return _name(factory(wf, step), wf, step, "enter")


def make_message_handler(wf: WorkflowIR, step: StepIR) -> Callback:
    """The ``on`` callback of a waiting step's targetless ``message`` transition."""
    factory = _MESSAGE.get(step.type, _message_plugin_step)
    return _name(factory(wf, step), wf, step, "on_message")


# --------------------------------------------------------------------------- response


def _enter_response(wf: WorkflowIR, step: StepIR) -> Callback:
    text = step.text

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        try:
            if text is not None:
                rt.replies.append(text.render(rt.names(frame.vars)))
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)
            return
        await machine.raise_("ok")

    return enter


# --------------------------------------------------------------------------- condition & loop


def _enter_condition(wf: WorkflowIR, step: StepIR) -> Callback:
    expression = step.expression
    assert expression is not None

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        try:
            frame.vars["_branch"] = bool(
                expression.evaluate(rt.names(frame.vars), rt.services.functions)
            )
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)
            return
        await machine.raise_("ok")

    return enter


def make_loop_enter(wf: WorkflowIR, step: StepIR) -> Callback:
    """The loop compound's ``enter``: entering the loop from outside resets its counter.

    Resuming after a digression re-enters the loop through the workflow's history: the counter
    goes on (else the loop would start over and could exceed ``max_iterations``).
    """

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        _enter_prologue(frame, wf, step, event, source)
        iterations = frame.vars.setdefault("iterations", {})
        if (getattr(event, "id", None) or str(event)) != RESUME or step.id not in iterations:
            iterations[step.id] = 0

    return _name(enter, wf, step, "enter_loop")


def make_loop_check(wf: WorkflowIR, step: StepIR) -> Callback:
    """The loop's check: another iteration while the condition holds and under max_iterations."""
    expression = step.expression
    assert expression is not None
    limit = step.spec.max_iterations
    # slots filled in the body are asked again on every iteration
    body_slots = [
        s.spec.slot
        for s in wf.steps.values()
        if s.container == step.id and s.type == "slot_fill" and s.spec.slot
    ]

    async def check(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = frame.turn
        iterations = frame.vars.setdefault("iterations", {})
        count = int(iterations.get(step.id, 0))
        try:
            go = count < limit and bool(
                expression.evaluate(rt.names(frame.vars), rt.services.functions)
            )
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)
            return
        if go:
            iterations[step.id] = count + 1
            frame.vars["loop_index"] = count
            if count:
                for slot in body_slots:
                    frame.vars.pop(slot, None)
        frame.vars["_branch"] = go
        await machine.raise_("ok")

    return _name(check, wf, step, "check")


def branch_guards(label_true: str, label_false: str, qual: str) -> tuple[Callable[..., bool], ...]:
    """Guards reading the branch an ``enter`` computed, named after the expression for diagrams."""

    def is_true(model: Frame) -> bool:
        return model.vars.get("_branch") is True

    def is_false(model: Frame) -> bool:
        return model.vars.get("_branch") is False

    is_true.__name__, is_false.__name__ = label_true, label_false
    is_true.__qualname__, is_false.__qualname__ = f"{qual}.true", f"{qual}.false"
    return is_true, is_false


# --------------------------------------------------------------------------- goto


def _enter_goto(wf: WorkflowIR, step: StepIR) -> Callback:
    sub = step.spec.workflow

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        if sub:
            rt.subflow = sub
            frame.waiting_for = f"workflow:{sub}"

    return enter


# --------------------------------------------------------------------------- custom_action


def _enter_custom_action(wf: WorkflowIR, step: StepIR) -> Callback:
    name = step.spec.action_name or ""
    params = step.parameters
    timeout = step.spec.timeout

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        try:
            handler = rt.services.actions[name]
            kwargs = params.render(rt.names(frame.vars)) if params is not None else {}
            async with asyncio.timeout(timeout):
                result = await handler(_context(frame, rt), **kwargs)
            if isinstance(result, dict):
                frame.vars.update(result)
        except TurnLimitExceeded:
            raise
        except Exception as exc:
            await fail(machine, frame, wf, step, _describe(exc, f"action {name!r}"))
            return
        await machine.raise_("ok")

    return enter


def _describe(exc: BaseException, what: str) -> BaseException:
    if isinstance(exc, TimeoutError):
        return StepFailed(f"{what} timed out")
    return exc


# --------------------------------------------------------------------------- api_call


def idempotency_key(
    session_id: str, workflow_id: str, step_id: str, turn: int, n: int, epoch: str = ""
) -> str:
    """The ``Idempotency-Key`` of a side-effecting call: stable across retries of one turn,
    different for a later conversation that reuses the session id (``epoch``)."""
    raw = f"{session_id}\x1f{workflow_id}\x1f{step_id}\x1f{turn}\x1f{n}"
    if epoch:  # snapshots from before epochs existed keep their keys
        raw += f"\x1f{epoch}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def map_response(data: Any, mapping: dict[str, str] | None) -> dict[str, Any]:
    """Apply ``response_mapping`` (response path -> variable); a missing path is a failure."""
    out: dict[str, Any] = {}
    for path, variable in (mapping or {}).items():
        cur = data
        for part in str(path).split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            elif isinstance(cur, list) and part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
                cur = cur[int(part)]
            else:
                raise StepFailed(f"the response has no {path!r}")
        out[variable] = cur
    return out


def _enter_api_call(wf: WorkflowIR, step: StepIR) -> Callback:
    spec = step.spec
    integration_name = spec.integration or ""
    method = spec.method
    endpoint, headers, body = step.endpoint, step.headers, step.body
    tries = 1 + (spec.max_retries if spec.retry_on_failure else 0)

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        if step.side_effect and rt.before_side_effect is not None:
            await rt.before_side_effect()  # a store error aborts the turn: not a step failure
        try:
            integration = rt.services.integrations[integration_name]
            names = rt.names(frame.vars)
            path = endpoint.render(names) if endpoint is not None else ""
            hdrs = {k: t.render(names) for k, t in headers.items()}
            payload = body.render(names) if body is not None else None
            key = None
            if step.side_effect:
                n = sum(1 for r in rt.transitions if r.step == step.id and r.workflow == wf.id)
                key = idempotency_key(rt.session_id, wf.id, step.id, rt.turn, n, rt.epoch)
                hdrs["Idempotency-Key"] = key
            data = await _call(integration, method, path, hdrs, payload, spec.timeout, tries)
            mapped = map_response(data, spec.response_mapping)
            frame.vars.update(mapped)
            if key is not None:
                rt.effects[key] = mapped
        except TurnLimitExceeded:
            raise
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)
            return
        await machine.raise_("ok")

    return enter


async def _call(
    integration: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    payload: Any,
    timeout: float,
    tries: int,
) -> Any:
    for attempt in range(tries):
        try:
            async with asyncio.timeout(timeout):
                return await integration.request(method, path, headers=headers, json=payload)
        except TimeoutError:
            error: Exception = IntegrationError(f"{method} {path} timed out after {timeout:g}s")
        except IntegrationError as exc:
            if not exc.retryable:
                raise
            error = exc
        if attempt + 1 < tries:
            await asyncio.sleep(BACKOFF_BASE * 2**attempt)
    raise error


# --------------------------------------------------------------------------- slot_fill


async def _validate(frame: Frame, rt: TurnContext, step: StepIR, value: Any) -> Valid | Invalid:
    rule = step.spec.validation
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return Invalid("I didn't get an answer.")
    if not rule:
        return Valid(value)
    validator = rt.services.validators[str(rule.get("type"))]
    result = await maybe_await(validator(value, rule, _context(frame, rt)))
    if not isinstance(result, Valid | Invalid):
        raise TypeError(f"validator {rule.get('type')!r} returned {result!r}, not Valid/Invalid")
    return result


def _prompt(frame: Frame, rt: TurnContext, step: StepIR, n: int) -> None:
    if step.prompts:
        template = step.prompts[min(n, len(step.prompts) - 1)]
        rt.replies.append(template.render(rt.names(frame.vars)))


def _set_attempt(frame: Frame, step: StepIR, n: int) -> None:
    frame.vars.setdefault("attempts", {})[step.id] = n
    frame.vars["attempt"] = n


def _enter_slot_fill(wf: WorkflowIR, step: StepIR) -> Callback:
    slot = step.spec.slot or ""

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        _set_attempt(frame, step, 0)
        try:
            if frame.vars.get(slot) not in (None, ""):
                result = await _validate(frame, rt, step, frame.vars[slot])
                if isinstance(result, Valid):
                    frame.vars[slot] = result.value
                    await machine.raise_("ok")
                    return
                del frame.vars[slot]
                frame.vars["invalid_reason"] = result.reason
                rt.replies.append(result.reason)
            frame.waiting_for = slot
            _prompt(frame, rt, step, 0)
        except TurnLimitExceeded:
            raise
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)

    return enter


def _message_slot_fill(wf: WorkflowIR, step: StepIR) -> Callback:
    slot = step.spec.slot or ""
    limit = step.spec.retry_limit

    async def on_message(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = frame.turn
        entities = rt.message.entities
        value = entities.get(slot, rt.message.text)
        try:
            result = await _validate(frame, rt, step, value)
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)
            return
        if isinstance(result, Valid):
            frame.vars[slot] = result.value
            frame.vars.pop("invalid_reason", None)
            frame.waiting_for = None
            record_outcome(rt, wf, step, "valid")
            await machine.raise_("ok")
            return
        n = int(frame.vars.get("attempts", {}).get(step.id, 0)) + 1
        _set_attempt(frame, step, n)
        frame.vars["invalid_reason"] = result.reason
        if n > limit:
            await fail(machine, frame, wf, step, StepFailed(result.reason))
            return
        record_outcome(rt, wf, step, "invalid")
        rt.replies.append(result.reason)
        try:
            _prompt(frame, rt, step, n)
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)

    return on_message


def record_outcome(rt: TurnContext, wf: WorkflowIR, step: StepIR, outcome: str) -> None:
    """Record a targetless transition (a re-ask, a handled message) in the history."""
    rt.transitions.append(Row(wf.id, step.id, "message", step.id, outcome, rt.now))


# --------------------------------------------------------------------------- auth


async def _apply_auth(
    machine: Any, frame: Frame, wf: WorkflowIR, step: StepIR, res: Any, answered: bool
) -> None:
    rt = frame.turn
    if not isinstance(res, AuthResult):
        raise TypeError(f"auth provider {step.spec.auth_provider!r} returned {res!r}")
    if res.status == "verified":
        frame.vars["authenticated"] = True
        frame.vars["auth"] = dict(res.claims)
        frame.waiting_for = None
        await machine.raise_("ok")
        return
    if res.status == "denied":
        frame.vars["authenticated"] = False
        await fail(machine, frame, wf, step, StepFailed(res.reason or "authentication failed"))
        return
    n = int(frame.vars.get("attempts", {}).get(step.id, 0)) + (1 if answered else 0)
    _set_attempt(frame, step, n)
    if n > step.spec.retry_limit:
        frame.vars["authenticated"] = False
        await fail(machine, frame, wf, step, StepFailed("too many failed attempts"))
        return
    frame.waiting_for = f"auth:{step.spec.auth_provider}"
    if answered:
        record_outcome(rt, wf, step, "challenge")
    rt.replies.append(res.prompt or "Please verify your identity.")


def _enter_auth(wf: WorkflowIR, step: StepIR) -> Callback:
    name = step.spec.auth_provider or ""

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        _set_attempt(frame, step, 0)
        try:
            provider = rt.services.auth_providers[name]
            res = await maybe_await(provider.verify_user(rt.user_id, name, _context(frame, rt)))
            await _apply_auth(machine, frame, wf, step, res, answered=False)
        except TurnLimitExceeded:
            raise
        except Exception as exc:
            frame.vars["authenticated"] = False
            await fail(machine, frame, wf, step, exc)

    return enter


def _message_auth(wf: WorkflowIR, step: StepIR) -> Callback:
    name = step.spec.auth_provider or ""

    async def on_message(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = frame.turn
        try:
            provider = rt.services.auth_providers[name]
            answer = getattr(provider, "answer", None)
            if answer is None:
                raise StepFailed(f"auth provider {name!r} cannot check answers")
            res = await maybe_await(answer(_context(frame, rt), rt.message.text))
            await _apply_auth(machine, frame, wf, step, res, answered=True)
        except Exception as exc:
            frame.vars["authenticated"] = False
            await fail(machine, frame, wf, step, exc)

    return on_message


# --------------------------------------------------------------------------- wait_input


def _enter_wait_input(wf: WorkflowIR, step: StepIR) -> Callback:
    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        frame.waiting_for = step.spec.slot or "input"
        try:
            if step.text is not None:
                rt.replies.append(step.text.render(rt.names(frame.vars)))
            _prompt(frame, rt, step, 0)
        except Exception as exc:
            await fail(machine, frame, wf, step, exc)

    return enter


def _message_wait_input(wf: WorkflowIR, step: StepIR) -> Callback:
    slot = step.spec.slot

    async def on_message(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = frame.turn
        if slot:
            frame.vars[slot] = rt.message.text
        frame.waiting_for = None
        record_outcome(rt, wf, step, "received")
        await machine.raise_("ok")

    return on_message


# --------------------------------------------------------------------------- webhook


def _enter_webhook(wf: WorkflowIR, step: StepIR) -> Callback:
    spec = step.spec
    event_name = step.event or step.id
    endpoint, headers, body = step.endpoint, step.headers, step.body

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        deadlines = frame.vars.setdefault("_deadlines", {})
        try:
            if event_name in rt.pending_events:
                await _accept_payload(machine, frame, wf, step, rt.pending_events.pop(event_name))
                return
            if step.id not in deadlines:  # not on a resume: notify once per wait
                if spec.integration and endpoint is not None:
                    names = rt.names(frame.vars)
                    integration = rt.services.integrations[spec.integration]
                    await _call(
                        integration,
                        spec.method,
                        endpoint.render(names),
                        {k: t.render(names) for k, t in headers.items()},
                        body.render(names) if body is not None else None,
                        spec.timeout,
                        1,
                    )
                deadlines[step.id] = rt.now + spec.timeout
            frame.waiting_for = f"event:{event_name}"
            _prompt(frame, rt, step, 0)
            if step.text is not None:
                rt.replies.append(step.text.render(rt.names(frame.vars)))
        except TurnLimitExceeded:
            raise
        except Exception as exc:
            deadlines.pop(step.id, None)
            await fail(machine, frame, wf, step, exc)

    return enter


async def _accept_payload(machine: Any, frame: Frame, wf: WorkflowIR, step: StepIR, payload: Any) -> None:
    frame.vars.get("_deadlines", {}).pop(step.id, None)
    frame.vars["event_payload"] = payload
    try:
        frame.vars.update(map_response(payload, step.spec.response_mapping))
    except StepFailed as exc:
        await fail(machine, frame, wf, step, exc)
        return
    frame.waiting_for = None
    await machine.raise_("ok")


def make_webhook_handler(wf: WorkflowIR, step: StepIR) -> Callback:
    """The ``on`` callback of a webhook step's ``webhook`` transition (payload in the turn)."""

    async def on_webhook(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = frame.turn
        record_outcome(rt, wf, step, "event")
        await _accept_payload(machine, frame, wf, step, rt.payload)

    return _name(on_webhook, wf, step, "on_webhook")


def make_timeout_handler(wf: WorkflowIR, step: StepIR) -> Callback:
    """The ``on`` callback of a webhook step's ``timeout`` transition."""

    async def on_timeout(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        frame.vars.get("_deadlines", {}).pop(step.id, None)
        frame.vars["error"] = f"no {step.event!r} event within {step.spec.timeout:g}s"
        frame.waiting_for = None
        frame.turn.errors.append((wf.id, step.id, StepFailed(frame.vars["error"])))

    return _name(on_timeout, wf, step, "on_timeout")


# --------------------------------------------------------------------------- error state


def make_error_enter(wf: WorkflowIR) -> Callback:
    """The workflow's error state: say what ``error_handling`` (or the bot) says, then go on."""
    text = wf.error_text

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = frame.turn
        record(rt, wf, "_error", event, source)
        if text is not None:
            try:
                rt.replies.append(text.render(rt.names(frame.vars)))
            except Exception:
                rt.replies.append(rt.services.config.messages.error)
        elif wf.error_next is None:
            rt.replies.append(rt.services.config.messages.error)
        frame.ended = "failed" if wf.error_next is None else None
        await machine.raise_("ok")

    return _aborting(enter, "enter_error", f"{wf.root}._error.enter")


def make_end_enter(wf: WorkflowIR) -> Callback:
    """The workflow's final state: mark the run ended."""

    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        record(frame.turn, wf, "_done", event, source)
        frame.waiting_for = None
        if frame.ended is None:
            frame.ended = "completed"

    return _aborting(enter, "enter_end", f"{wf.root}._end.enter")


def make_abort(wf: WorkflowIR) -> Callback:
    """The ``on`` of the workflow's catch-all ``error.execution`` transition.

    Our callbacks never raise into the engine (see :func:`_aborting`), so this event only comes
    from python-statemachine itself: a guard or the library's own code between callbacks raised.
    The error must not be dropped (the message would go unanswered): it aborts the turn.
    """

    async def abort(error: Any = None) -> None:
        if not isinstance(error, Exception):
            error = RuntimeError(f"error.execution without an exception: {error!r}")
        raise TurnAborted(error)

    abort.__name__ = "abort_turn"
    abort.__qualname__ = f"{wf.root}._abort"
    return abort


# --------------------------------------------------------------------------- plugin steps


def _enter_plugin_step(wf: WorkflowIR, step: StepIR) -> Callback:
    async def enter(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        rt = _enter_prologue(frame, wf, step, event, source)
        await _run_plugin(machine, frame, rt, wf, step, None)

    return enter


def _message_plugin_step(wf: WorkflowIR, step: StepIR) -> Callback:
    async def on_message(machine: Any, event: Any = None, source: Any = None) -> None:
        frame: Frame = machine.model
        await _run_plugin(machine, frame, frame.turn, wf, step, frame.turn.message)

    return on_message


async def _run_plugin(
    machine: Any, frame: Frame, rt: TurnContext, wf: WorkflowIR, step: StepIR, message: Any
) -> None:
    try:
        spec = rt.services.step_types[step.type]
        outcome = await spec.run(_context(frame, rt), step.spec, message)
    except TurnLimitExceeded:
        raise
    except Exception as exc:
        await fail(machine, frame, wf, step, exc)
        return
    if outcome == "ok":
        frame.waiting_for = None
        await machine.raise_("ok")
    elif outcome == "wait":
        frame.waiting_for = step.id
    else:
        await fail(machine, frame, wf, step, StepFailed(f"step type {step.type!r} failed"))


_ENTER: dict[str, Callable[[WorkflowIR, StepIR], Callback]] = {
    "auth": _enter_auth,
    "slot_fill": _enter_slot_fill,
    "api_call": _enter_api_call,
    "condition": _enter_condition,
    "response": _enter_response,
    "custom_action": _enter_custom_action,
    "goto": _enter_goto,
    "wait_input": _enter_wait_input,
    "webhook": _enter_webhook,
}
_MESSAGE: dict[str, Callable[[WorkflowIR, StepIR], Callback]] = {
    "auth": _message_auth,
    "slot_fill": _message_slot_fill,
    "wait_input": _message_wait_input,
}
