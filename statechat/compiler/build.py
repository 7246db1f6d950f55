"""IR -> a python-statemachine ``StateChart`` class per workflow version (and equivalent source).

The class of workflow ``wf``::

    wf                      compound, initial; deep history ``wf___history`` (default: first step)
      wf__<step>            one state per step (loops are compounds holding their body steps)
      wf___error            error_handling: say the error, then its next_step or the end
    wf___suspended          a digression suspended the workflow; ``resume`` -> wf___history
    wf___done               final: every ending goes straight here (one hop, no done.state event)

Events: ``ok`` (step succeeded; conditions and loops pick the target by guards named after their
expressions), ``fail`` (-> on_error), ``message`` (targetless on waiting steps), ``webhook`` /
``timeout`` (webhook steps), ``returned`` (a sub-workflow ended), ``suspend`` / ``resume``, and
``error.execution`` (an error inside the engine: aborts the turn; not drawn in diagrams).
"""

from __future__ import annotations

import keyword
import pprint
from collections.abc import Callable
from typing import Any

from statemachine import StateChart
from statemachine.io import create_machine_class_from_definition

from statechat.compiler.ir import StepIR, WorkflowIR, _ident
from statechat.machines import steps as ex

Definition = dict[str, Any]

#: python-statemachine's event for an error raised inside the engine (a guard, library code);
#: every workflow state handles it by aborting the turn (our own callbacks abort directly).
ERROR_EVENT = "error.execution"


def class_name(workflow_id: str) -> str:
    """A readable class name for a workflow (``banking_transfer_v1`` -> ``BankingTransferV1``)."""
    name = "".join(p[:1].upper() + p[1:] for p in _ident(workflow_id).split("_") if p)
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"Workflow{name}"


def definition(wf: WorkflowIR) -> Definition:
    """The ``create_machine_class_from_definition`` states mapping of a workflow."""
    steps = wf.steps
    children: dict[str | None, list[StepIR]] = {}
    for s in steps.values():
        children.setdefault(s.container, []).append(s)

    def state_for(step: StepIR) -> Definition:
        if step.type == "loop":
            return _loop_state(wf, step, [state_for(c) for c in children.get(step.id, [])], children)
        return _step_state(wf, step)

    inner: Definition = {}
    first_step = steps[wf.state_to_step[wf.first]]
    for s in children.get(None, []):
        inner[s.state] = state_for(s)
        if s is first_step:
            inner[s.state]["initial"] = True
    if first_step.container is not None:  # the first step sits in a loop body: start at the loop
        top = _top_container(first_step, steps)
        inner[steps[top].state]["initial"] = True
    inner[wf.error_state] = {
        "enter": ex.make_error_enter(wf),
        "on": {"ok": [{"target": wf.error_next or wf.end_state}]},
    }
    abort = [{"target": None, "on": ex.make_abort(wf)}]
    return {
        wf.root: {
            "initial": True,
            "states": inner,
            "history": {wf.history: {"type": "deep", "transitions": [{"target": wf.first}]}},
            "on": {"suspend": [{"target": wf.suspended}], ERROR_EVENT: abort},
        },
        wf.suspended: {"on": {ex.RESUME: [{"target": wf.history}], ERROR_EVENT: abort}},
        wf.done: {"final": True, "enter": ex.make_end_enter(wf)},
    }


def _top_container(step: StepIR, steps: dict[str, StepIR]) -> str:
    cur = step
    while cur.container is not None and steps[cur.container].container is not None:
        cur = steps[cur.container]
    assert cur.container is not None
    return cur.container


def _continue_target(wf: WorkflowIR, step: StepIR) -> str:
    """Where ``ok`` leads: the next body step / the loop check inside a loop, else next_step."""
    if step.container is not None:
        loop = wf.steps[step.container]
        body = loop.body_steps
        i = body.index(step.state)
        return body[i + 1] if i + 1 < len(body) else _check_id(loop)
    return step.next or wf.end_state


def _check_id(loop: StepIR) -> str:
    return f"{loop.state}___check"


def _failure_target(wf: WorkflowIR, step: StepIR) -> str:
    """on_error; else, for ``critical: false``, where success would continue; else error_handling."""
    if step.spec.on_error is None and not step.spec.critical and step.type != "condition":
        return _continue_target(wf, step)
    return step.on_error


def _step_state(wf: WorkflowIR, step: StepIR) -> Definition:
    on: dict[str, list[Definition]] = {"fail": [{"target": _failure_target(wf, step)}]}
    state: Definition = {"enter": ex.make_enter(wf, step), "on": on}
    if step.type == "condition":
        expr = step.expression.source if step.expression else "?"
        t, f = ex.branch_guards(expr, f"not ({expr})", f"{wf.root}.{step.id}")
        on["ok"] = [
            {"target": step.if_true or wf.end_state, "cond": t},
            {"target": step.if_false or wf.end_state, "cond": f},
        ]
    elif step.type == "goto":
        if step.spec.workflow:
            on["returned"] = [{"target": _continue_target(wf, step)}]
        else:
            state["transitions"] = [{"target": _continue_target(wf, step)}]
    else:
        on["ok"] = [{"target": _continue_target(wf, step)}]
    if step.waits or step.type == "auth":
        on["message"] = [{"target": None, "on": ex.make_message_handler(wf, step)}]
    if step.type == "webhook":
        on["webhook"] = [{"target": None, "on": ex.make_webhook_handler(wf, step)}]
        on["timeout"] = [
            {"target": _failure_target(wf, step), "on": ex.make_timeout_handler(wf, step)}
        ]
    return state


def _loop_state(
    wf: WorkflowIR, step: StepIR, body: list[Definition], children: dict[str | None, list[StepIR]]
) -> Definition:
    expr = step.expression.source if step.expression else "?"
    again, done = ex.branch_guards(
        f"{expr} (at most {step.spec.max_iterations}x)", "loop done", f"{wf.root}.{step.id}"
    )
    states: Definition = {
        _check_id(step): {
            "initial": True,
            "enter": ex.make_loop_check(wf, step),
            "on": {
                "ok": [
                    {"target": step.body_steps[0] if step.body_steps else _check_id(step), "cond": again},
                    {"target": _continue_target(wf, step), "cond": done},
                ],
                "fail": [{"target": _failure_target(wf, step)}],
            },
        }
    }
    for child, spec in zip(children.get(step.id, []), body, strict=True):
        states[child.state] = spec
    return {"enter": ex.make_loop_enter(wf, step), "states": states}


#: Class attributes of every generated workflow class.
#: ``catch_errors_as_events``: with it the engine calls callbacks in turn instead of through a
#: task per callback group; step failures are ``fail`` events anyway and anything else leaves a
#: callback as :class:`~statechat.machines.model.TurnAborted`, which the engine lets through.
CLASS_FLAGS: dict[str, Any] = {
    "catch_errors_as_events": True,
    "allow_event_without_transition": True,
    "atomic_configuration_update": True,
}


def build_class(wf: WorkflowIR, *, validate: bool = True) -> type[StateChart[Any]]:
    """Build the StateChart class of one workflow version."""
    flags = dict(CLASS_FLAGS)
    if not validate:
        flags.update(
            validate_disconnected_states=False,
            validate_trap_states=False,
            validate_final_reachability=False,
        )
    cls = create_machine_class_from_definition(
        class_name(wf.id), states=definition(wf), **flags
    )
    cls.workflow_id = wf.id  # type: ignore[attr-defined]
    cls.workflow_version = wf.version  # type: ignore[attr-defined]
    return cls


# --------------------------------------------------------------------------- Python source


def python_source(workflows: list[WorkflowIR], *, bot_path: str) -> str:
    """Readable Python source that builds the same classes (``statechat compile --python``).

    Every state and transition is spelled out; the callbacks are the compiled step executors,
    looked up by name from the same bot (expressions and templates are never turned into code).
    """
    lines = [
        '"""StateChart classes generated by `statechat compile --python` from the bot at',
        f"{bot_path!r}. Edit the workflows, not this file.",
        "",
        "Each callback (enter/on/cond) is the compiled step executor of the same name from",
        '`statechat.compiler.build.callbacks(bot)`: flow text is never turned into Python code."""',
        "",
        "from statemachine.io import create_machine_class_from_definition",
        "",
        "from statechat.compiler.build import callbacks",
        "from statechat.compiler.pipeline import compile_path",
        "",
        f"_bot = compile_path({bot_path!r})",
        "_cb = callbacks(_bot)",
        "",
    ]
    for wf in workflows:
        names: dict[int, str] = {}
        defn = _named(definition(wf), names, wf.id)
        text = pprint.pformat(defn, width=96, sort_dicts=False)
        for ident, label in names.items():
            text = text.replace(f"'<cb:{ident}>'", f"_cb[{label!r}]")
        flags = ", ".join(f"{k}={v!r}" for k, v in CLASS_FLAGS.items())
        lines += [
            f"# workflow {wf.id!r} version {wf.version}",
            f"{class_name(wf.id)} = create_machine_class_from_definition(",
            f"    {class_name(wf.id)!r},",
            "    states=" + text.replace("\n", "\n    ") + ",",
            f"    {flags},",
            ")",
            f"{class_name(wf.id)}.workflow_id = {wf.id!r}",
            f"{class_name(wf.id)}.workflow_version = {wf.version!r}",
            "",
        ]
    return "\n".join(lines)


def _named(value: Any, names: dict[int, str], wf_id: str) -> Any:
    if callable(value):
        names[id(value)] = f"{wf_id}:{value.__qualname__}"
        return f"<cb:{id(value)}>"
    if isinstance(value, dict):
        return {k: _named(v, names, wf_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, names, wf_id) for v in value]
    return value


def callbacks(bot: Any) -> dict[str, Callable[..., Any]]:
    """Every callback of every workflow of a compiled bot, by the names the source uses."""
    out: dict[str, Callable[..., Any]] = {}
    for wf in bot.workflows.values():
        _collect(definition(wf), out, wf.id)
    return out


def _collect(value: Any, out: dict[str, Callable[..., Any]], wf_id: str) -> None:
    if callable(value):
        out[f"{wf_id}:{value.__qualname__}"] = value
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, out, wf_id)
    elif isinstance(value, list):
        for v in value:
            _collect(v, out, wf_id)
