"""The intermediate representation: checked workflows with every expression and template compiled.

Everything that can be done once per workflow version happens here (parsing expressions, compiling
templates, resolving targets to state ids), so a turn only evaluates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from statechat.compiler.expressions import Expression, parse_expression
from statechat.compiler.loader import LoadedWorkflow
from statechat.compiler.schema import IDEMPOTENT_METHODS, StepType, WorkflowStep
from statechat.compiler.templates import CompiledTemplate, TemplateEngine
from statechat.errors import SourceLocation

SEP = "__"


def state_id(workflow_id: str, step_id: str) -> str:
    """The state id of a step: namespaced, so ids never clash with events or other workflows."""
    return f"{_ident(workflow_id)}{SEP}{_ident(step_id)}"


def _ident(text: str) -> str:
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in text)
    return out if out and not out[0].isdigit() else "s_" + out


@dataclass(frozen=True)
class BodyTemplate:
    """A nested request body / parameters structure whose strings are compiled templates."""

    value: Any

    def render(self, context: Mapping[str, Any]) -> Any:
        """Render every template leaf (single placeholders keep the variable's type)."""
        return _render_tree(self.value, context)


def _render_tree(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, CompiledTemplate):
        return value.value(context)
    if isinstance(value, dict):
        return {k: _render_tree(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_tree(v, context) for v in value]
    return value


def _compile_tree(value: Any, engine: TemplateEngine) -> Any:
    if isinstance(value, str):
        return engine.compile(value)
    if isinstance(value, dict):
        return {k: _compile_tree(v, engine) for k, v in value.items()}
    if isinstance(value, list):
        return [_compile_tree(v, engine) for v in value]
    return value


@dataclass
class StepIR:
    """One step, ready to run."""

    id: str
    type: str
    state: str
    spec: WorkflowStep
    location: SourceLocation
    waits: bool
    next: str | None
    """State id on success (``None``: the workflow ends)."""
    on_error: str
    """State id on failure (``on_error``, else ``error_handling``, else the workflow's error state)."""
    if_true: str | None = None
    if_false: str | None = None
    container: str | None = None
    """Loop step id whose body holds this step (``None``: the workflow's top level)."""
    expression: Expression | None = None
    prompts: list[CompiledTemplate] = field(default_factory=list)
    text: CompiledTemplate | None = None
    endpoint: CompiledTemplate | None = None
    headers: dict[str, CompiledTemplate] = field(default_factory=dict)
    body: BodyTemplate | None = None
    parameters: BodyTemplate | None = None
    body_steps: list[str] = field(default_factory=list)
    """Loop only: state ids of the body, in order."""
    side_effect: bool = False
    """api_call with a non-idempotent method: carries an ``Idempotency-Key``."""
    event: str | None = None
    """webhook only: the event name callbacks are delivered under."""


@dataclass
class WorkflowIR:
    """A workflow version ready to be built into a StateChart class."""

    id: str
    version: str
    source: LoadedWorkflow
    steps: dict[str, StepIR]
    first: str
    error_state: str
    end_state: str
    """The top-level final state: every ending of the workflow goes there directly."""
    root: str
    history: str
    suspended: str
    done: str
    error_text: CompiledTemplate | None
    error_next: str | None
    slots: frozenset[str]
    """Variables a run of this workflow fills (cleared when a new run starts)."""
    state_to_step: dict[str, str] = field(default_factory=dict)

    @property
    def workflow(self) -> Any:
        """The validated :class:`~statechat.compiler.schema.Workflow`."""
        return self.source.workflow

    def step_of(self, state: str) -> StepIR | None:
        """The step whose state id this is."""
        sid = self.state_to_step.get(state)
        return self.steps.get(sid) if sid is not None else None


def build_ir(
    lw: LoadedWorkflow,
    engine: TemplateEngine,
    waiting_types: frozenset[str],
) -> WorkflowIR:
    """Lower a checked workflow to IR (assumes the static checks passed)."""
    wf = lw.workflow
    root = _ident(wf.workflow_id)
    error_state = f"{root}{SEP}_error"
    end_state = f"{root}{SEP}_done"
    eh = wf.error_handling
    local_engine = engine
    if wf.templates:
        local_engine = TemplateEngine(filters=engine.env.filters, named={**engine.named, **wf.templates})

    containers: dict[str, str] = {}
    for s in wf.steps:
        if s.type == StepType.LOOP:
            for b in s.loop_steps or []:
                containers.setdefault(b, s.id)  # the first loop listing a step owns it

    def target(step_id: str | None) -> str | None:
        return state_id(wf.workflow_id, step_id) if step_id else None

    steps: dict[str, StepIR] = {}
    slots: set[str] = set()
    for i, s in enumerate(wf.steps):
        if s.id in steps:
            continue
        sid = state_id(wf.workflow_id, s.id)
        on_error = target(s.on_error) or error_state
        ir = StepIR(
            id=s.id,
            type=s.type_name,
            state=sid,
            spec=s,
            location=lw.source.step(i),
            waits=s.type_name in waiting_types,
            next=target(s.next_step),
            on_error=on_error,
            container=containers.get(s.id),
        )
        if s.type == StepType.CONDITION:
            ir.if_true, ir.if_false = target(s.if_true), target(s.if_false)
        if s.condition and s.type == StepType.CONDITION:
            ir.expression = parse_expression(s.condition)
        if s.loop_condition and s.type == StepType.LOOP:
            ir.expression = parse_expression(s.loop_condition)
            ir.body_steps = [state_id(wf.workflow_id, b) for b in s.loop_steps or []]
        ir.prompts = [local_engine.compile(p) for p in s.prompts]
        if s.template:
            ir.text = local_engine.compile_named(s.template)
        elif s.response_text is not None:
            ir.text = local_engine.compile(s.response_text)
        if s.endpoint is not None:
            ir.endpoint = local_engine.compile(s.endpoint, url=True)
        ir.headers = {k: local_engine.compile(v) for k, v in (s.headers or {}).items()}
        if s.request_body is not None:
            ir.body = BodyTemplate(_compile_tree(s.request_body, local_engine))
        if s.parameters is not None:
            ir.parameters = BodyTemplate(_compile_tree(s.parameters, local_engine))
        ir.side_effect = s.type == StepType.API_CALL and s.method not in IDEMPOTENT_METHODS
        if s.type == StepType.WEBHOOK:
            ir.event = s.event or s.id
        if s.slot:
            slots.add(s.slot)
        slots.update((s.response_mapping or {}).values())
        steps[s.id] = ir

    error_text = None
    if eh is not None:
        if eh.template:
            error_text = local_engine.compile_named(eh.template)
        elif eh.response_text:
            error_text = local_engine.compile(eh.response_text)
    return WorkflowIR(
        id=wf.workflow_id,
        version=lw.content_hash,
        source=lw,
        steps=steps,
        first=state_id(wf.workflow_id, wf.steps[0].id),
        error_state=error_state,
        end_state=end_state,
        root=root,
        history=f"{root}{SEP}_history",
        suspended=f"{root}{SEP}_suspended",
        done=end_state,
        error_text=error_text,
        error_next=target(eh.next_step) if eh else None,
        slots=frozenset(slots),
        state_to_step={ir.state: ir.id for ir in steps.values()},
    )
