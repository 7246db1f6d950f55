"""Static checks of loaded workflows (DESIGN section 4): every problem at once, located.

:func:`check_workflow` checks one :class:`~statechat.compiler.loader.LoadedWorkflow`,
:func:`check_bot` every workflow of a bot plus what spans workflows, and :func:`step_graph` gives
the successor graph that the checks, the machine builder and the diagrams share.

Step semantics the checks assume (the runtime follows them):

* **Successors.** auth, slot_fill, api_call, custom_action, webhook and plugin step types continue
  at ``next_step`` and fail to ``on_error``; condition branches to ``if_true`` / ``if_false`` and
  fails (evaluation error) to ``on_error``; loop enters its body (``loop_steps[0]``), exits to
  ``next_step`` and fails (``loop_condition`` evaluation error) to ``on_error``; response, goto and
  wait_input continue at ``next_step`` and cannot fail. A missing ``next_step`` ends the workflow.
* **Failures.** ``on_error`` wins; else ``critical: false`` continues where success would
  (without the success's effects, e.g. no slot value; not for conditions, which have no single
  continuation); else ``error_handling`` (its text, then its ``next_step`` or the end); else the
  workflow ends with an error message. ``error_handling.next_step`` counts as reachable whenever
  any step can fail.
* **Loops.** ``loop_steps`` are ids of steps of the same workflow forming the body, run in list
  order: body step *i* continues at body step *i+1*, the last one goes back to the loop step (its
  own ``next_step`` is ignored; a condition in a body continues only through its branches). A
  step belongs to at most one loop body (the first loop in file order that lists it); bodies nest
  (a loop step may sit in another loop's body) but never contain themselves. Only steps inside a
  loop may jump into its body; a body step may jump to another step of its loop or leave it. Any
  jump from inside a loop's body back to the loop step is an iteration (bounded by
  ``max_iterations``); entering the loop step from outside starts it afresh.
* **Waiting.** slot_fill, wait_input, webhook and plugin types whose spec ``waits`` end the turn;
  the others run automatically (auth included). A goto with ``workflow:`` and unknown step types
  are assumed to possibly wait. A cycle of automatic steps (loop iterations excepted) would spin.
* **Names.** A name used by an expression or a rendered string must be defined on *some* path
  from the start before the step: workflow ``variables``, slot names (slot_fill, and wait_input's
  ``slot``), ``response_mapping`` values (api_call, webhook; on success), context names, the
  runtime's :data:`SYSTEM_NAMES`, plugin functions. A custom_action, plugin step or goto with
  ``workflow:`` may set anything, so names after one are not checked.
"""

from __future__ import annotations

import gc
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jinja2
from jinja2 import meta

from statechat.compiler import suggest
from statechat.compiler.expressions import (
    CONTEXT_NAMES,
    Expression,
    ExpressionSyntaxError,
    parse_expression,
)
from statechat.compiler.loader import BotSource, LoadedWorkflow, Path_
from statechat.compiler.schema import BotConfig, StepType, Workflow, WorkflowStep
from statechat.compiler.templates import TemplateEngine, to_jinja
from statechat.errors import Problem, Severity, SourceLocation
from statechat.plugins.registry import Kind, Registry

__all__ = [
    "SYSTEM_NAMES",
    "CheckContext",
    "Edge",
    "StepGraph",
    "check_bot",
    "check_workflow",
    "step_graph",
]

#: Names the runtime sets itself, usable in every expression and template.
SYSTEM_NAMES = frozenset(
    {
        "authenticated",  # auth: True once a provider verified the user
        "auth",  # auth: the provider's claims
        "attempt",  # slot_fill / auth challenge: 1-based number of the current ask
        "attempts",  # slot_fill: attempts per slot
        "loop_index",  # loop: 0-based index of the current iteration
        "iterations",  # loop: iterations completed
        "error",  # the last step failure (message)
        "invalid_reason",  # slot_fill: why the last answer was rejected
        "event_payload",  # webhook: the callback's JSON payload
        "turn",  # the session's turn number
    }
)

_T = StepType
#: Types whose steps can fail (have an error edge); plugin types can fail too.
_FAILABLE = frozenset(
    {
        _T.AUTH.value,
        _T.SLOT_FILL.value,
        _T.API_CALL.value,
        _T.CONDITION.value,
        _T.CUSTOM_ACTION.value,
        _T.LOOP.value,
        _T.WEBHOOK.value,
    }
)
_BUILTIN = frozenset(t.value for t in StepType)
_WAITING = frozenset({_T.SLOT_FILL.value, _T.WAIT_INPUT.value, _T.WEBHOOK.value})

#: Type-specific fields that have an effect, per built-in type.
#: Fields of an HTTP request (api_call, and the optional notification of a webhook step).
_HTTP_FIELDS = frozenset(
    {"integration", "endpoint", "method", "request_body", "headers", "response_mapping", "max_retries"}
)
_SAY_FIELDS = frozenset({"prompt", "response_text", "template"})
_NAV = frozenset({"next_step", "on_error"})

_TYPE_FIELDS: dict[str, frozenset[str]] = {
    "auth": frozenset({"auth_provider", "retry_limit"}) | _NAV,
    "slot_fill": frozenset({"slot", "prompt", "validation", "retry_limit"}) | _NAV,
    "api_call": _HTTP_FIELDS | _NAV,
    "condition": frozenset({"condition", "if_true", "if_false", "on_error"}),
    "response": frozenset({"template", "response_text", "next_step"}),
    "custom_action": frozenset({"action_name", "parameters"}) | _NAV,
    "loop": frozenset({"loop_condition", "loop_steps", "max_iterations"}) | _NAV,
    "goto": frozenset({"next_step", "workflow"}),
    "wait_input": _SAY_FIELDS | {"next_step", "slot"},
    "webhook": _HTTP_FIELDS | _SAY_FIELDS | _NAV | {"event"},
}
_SPECIFIC = frozenset().union(*_TYPE_FIELDS.values())

_REQUIRED: dict[str, tuple[str, ...]] = {
    "auth": ("auth_provider",),
    "slot_fill": ("slot", "prompt"),
    "api_call": ("integration", "endpoint"),
    "condition": ("condition", "if_true", "if_false"),
    "custom_action": ("action_name",),
    "loop": ("loop_condition", "loop_steps"),
}

#: Edge labels taken on failure (the success's effects do not happen).
ERROR_LABELS = frozenset({"error", "error_handling"})

_MAX_LISTED = 6


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """ "did you mean 'x'?" for the closest candidate (stricter than the loader's: names are short)."""
    return suggest.did_you_mean(name, candidates, cutoff=0.7)


# --------------------------------------------------------------------------- public types


@dataclass
class CheckContext:
    """What the checks know beyond the workflow itself.

    ``registry`` ``None`` skips every plugin-name check (actions, integrations, auth providers,
    validators, step types, expression functions, template filters).
    """

    registry: Registry | None = None
    config: BotConfig = field(default_factory=BotConfig)
    """``config.integrations`` count as integrations; ``config.intents`` as known intents."""
    templates: Mapping[str, str] = field(default_factory=dict)
    """Bot-level named templates (``templates/NAME.j2``): name -> text."""
    workflow_ids: frozenset[str] = frozenset()
    """Every workflow of the bot, for goto ``workflow:``; empty: that check is skipped."""
    engine: TemplateEngine | None = None
    """The template engine to parse with (default: one with the registry's filters)."""


class Edge(NamedTuple):
    """One successor of a step.

    ``label`` is ``next`` (continue), ``true`` / ``false`` (condition branches), ``body`` (a loop
    enters its first body step), ``loop`` (the last body step goes back to its loop step),
    ``error`` (``on_error``, or ``critical: false`` continuing after a failure, or a failure with
    no handler at all) or ``error_handling`` (a failure handled by the workflow's
    ``error_handling``). ``target`` ``None`` means the workflow ends there.
    """

    label: str
    target: str | None


@dataclass
class StepGraph:
    """The successor graph of a workflow (first occurrence of each step id only).

    ``edges`` holds only targets that exist (or ``None`` = the end); references to undefined steps
    are listed in ``dangling`` instead. ``container[id]`` is ``None`` for a top-level step, else the
    id of the loop whose body holds it; ``loop_bodies`` lists each loop's body in run order (only
    the steps actually assigned to it).
    """

    start: str | None
    index: dict[str, int]
    """Step id -> position in ``workflow.steps`` (first occurrence)."""
    container: dict[str, str | None]
    edges: dict[str, list[Edge]]
    loop_bodies: dict[str, list[str]]
    dangling: list[tuple[str, str, str]] = field(default_factory=list)
    """``(step id, field, missing target)`` for references to steps that do not exist."""

    def successors(self, step_id: str) -> list[str]:
        """The existing steps that ``step_id`` can continue at, without duplicates, in order."""
        out: list[str] = []
        for e in self.edges.get(step_id, ()):
            if e.target is not None and e.target not in out:
                out.append(e.target)
        return out

    def ends(self, step_id: str) -> list[str]:
        """Labels of the edges by which the workflow can end at ``step_id``."""
        return [e.label for e in self.edges.get(step_id, ()) if e.target is None]


# --------------------------------------------------------------------------- graph


@dataclass
class _GraphIssue:
    index: int
    path: Path_
    message: str
    code: str = "loop_body"


def step_graph(wf: Workflow) -> StepGraph:
    """The successor graph of a workflow (see :class:`StepGraph` and the module docstring)."""
    return _build_graph(wf, [])


def _type_name(step: WorkflowStep) -> str:
    t = step.type
    return t.value if isinstance(t, StepType) else str(t)


def _build_graph(wf: Workflow, issues: list[_GraphIssue]) -> StepGraph:
    steps = wf.steps
    index: dict[str, int] = {}
    for i, s in enumerate(steps):
        index.setdefault(s.id, i)
    start = steps[0].id if steps else None
    container: dict[str, str | None] = dict.fromkeys(index)
    assigned_at: dict[str, tuple[int, int]] = {}
    bodies: dict[str, list[str]] = {}

    # loop membership: first loop (file order) that lists a step wins
    for sid, i in index.items():
        s = steps[i]
        if _type_name(s) != "loop" or not s.loop_steps:
            continue
        body: list[str] = []
        here: set[str] = set()
        for j, b in enumerate(s.loop_steps):
            if b not in index:
                continue  # reported as an undefined reference
            if b == sid:
                issues.append(
                    _GraphIssue(
                        i,
                        ("steps", i, "loop_steps", j),
                        f"loop {sid!r} lists itself in loop_steps",
                    )
                )
            elif b in here:
                issues.append(
                    _GraphIssue(
                        i,
                        ("steps", i, "loop_steps", j),
                        f"step {b!r} is listed twice in the loop_steps of {sid!r}",
                    )
                )
            elif b in assigned_at:
                other = container[b]
                issues.append(
                    _GraphIssue(
                        i,
                        ("steps", i, "loop_steps", j),
                        f"step {b!r} is already in the body of loop {other!r}; "
                        "a step may be in only one loop body",
                    )
                )
            else:
                here.add(b)
                container[b] = sid
                assigned_at[b] = (i, j)
                body.append(b)
        bodies[sid] = body

    # a loop may not contain itself through nesting: break containment cycles
    state: dict[str, int] = {}
    for sid in index:
        if sid in state:
            continue
        path: list[str] = []
        on_path: dict[str, int] = {}
        cur: str | None = sid
        while cur is not None and cur not in state:
            state[cur] = 1
            on_path[cur] = len(path)
            path.append(cur)
            cur = container[cur]
        if cur is not None and state.get(cur) == 1 and cur in on_path:
            cycle = path[on_path[cur] :]
            closing = max(cycle, key=lambda m: assigned_at[m])
            owner = container[closing]
            assert owner is not None
            li, lj = assigned_at[closing]
            names = " -> ".join(repr(c) for c in [closing, *_chain(container, closing)])
            issues.append(
                _GraphIssue(
                    li,
                    ("steps", li, "loop_steps", lj),
                    f"loop {owner!r} cannot contain {closing!r}: loops would contain "
                    f"themselves ({names})",
                )
            )
            bodies[owner].remove(closing)
            container[closing] = None
            del assigned_at[closing]
        for p in path:
            state[p] = 2

    position: dict[str, int] = {}
    for body in bodies.values():
        for k, b in enumerate(body):
            position[b] = k

    edges: dict[str, list[Edge]] = {}
    dangling: list[tuple[str, str, str]] = []
    eh = wf.error_handling
    for sid, i in index.items():
        s = steps[i]
        t = _type_name(s)
        out: list[Edge] = []

        def ref(label: str, target: str | None, fieldname: str, _sid: str = sid) -> Edge | None:
            if target is None or target in index:
                return Edge(label, target)
            dangling.append((_sid, fieldname, target))
            return None

        nxt: Edge | None
        c = container[sid]
        if c is not None:
            body = bodies[c]
            k = position[sid]
            nxt = Edge("next", body[k + 1]) if k + 1 < len(body) else Edge("loop", c)
        else:
            nxt = ref("next", s.next_step, "next_step")
        if t == "loop" and bodies.get(sid):
            out.append(Edge("body", bodies[sid][0]))
        if t == "condition":
            for label, target, fname in (
                ("true", s.if_true, "if_true"),
                ("false", s.if_false, "if_false"),
            ):
                e = ref(label, target, fname)
                if e is not None:
                    out.append(e)
            nxt = None
        elif nxt is not None:
            out.append(nxt)
        if t in _FAILABLE or t not in _BUILTIN:
            err: Edge | None
            if s.on_error is not None:
                err = ref("error", s.on_error, "on_error")
            elif not s.critical and t != "condition":
                err = Edge("error", nxt.target) if nxt is not None else None
                if nxt is None and c is None and s.next_step is not None:
                    err = None  # next_step dangles: already listed
            elif eh is not None:
                err = ref("error_handling", eh.next_step, "error_handling.next_step")
            else:
                err = Edge("error", None)
            if err is not None:
                out.append(err)
        edges[sid] = out
    return StepGraph(start, index, container, edges, bodies, dangling)


def _chain(container: Mapping[str, str | None], sid: str) -> Iterator[str]:
    seen = {sid}
    cur = container.get(sid)
    while cur is not None and cur not in seen:
        seen.add(cur)
        yield cur
        cur = container.get(cur)
    if cur is not None:
        yield cur


def _tarjan(n: int, adj: list[list[int]]) -> list[list[int]]:
    """Strongly connected components, sinks first (reverse topological order); iterative."""
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, pi = work[-1]
            succ = adj[v]
            if pi < len(succ):
                work[-1] = (v, pi + 1)
                w = succ[pi]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work:
                u = work[-1][0]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == index[v]:
                comp: list[int] = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


# --------------------------------------------------------------------------- templates


_PLAIN_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)(?:\.[A-Za-z_]\w*|\[\d+\])*\s*\}\}")
_JINJA_WORDS = frozenset(
    {
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
    }
)


@dataclass(frozen=True)
class _TemplateInfo:
    names: frozenset[str] = frozenset()
    refs: frozenset[str] = frozenset()
    dynamic_refs: bool = False
    error: str | None = None
    lineno: int = 1


_NO_TEMPLATE = _TemplateInfo()


class _Templates:
    """Template analysis with a per-run cache and a fast path for plain placeholders."""

    def __init__(self, engine: TemplateEngine, ignore_unknown_filters: bool) -> None:
        self.env = engine.env
        self.ignore_unknown_filters = ignore_unknown_filters
        self.cache: dict[str, _TemplateInfo] = {}

    def analyze(self, text: str) -> _TemplateInfo:
        if "{" not in text and "}" not in text:
            return _NO_TEMPLATE
        info = self.cache.get(text)
        if info is None:
            info = self.cache[text] = self._analyze(text)
        return info

    def _analyze(self, text: str) -> _TemplateInfo:
        source = to_jinja(text)
        heads = _PLAIN_PLACEHOLDER.findall(source)
        rest = _PLAIN_PLACEHOLDER.sub("\x00", source)
        if "{" not in rest and "}" not in rest and not any(h in _JINJA_WORDS for h in heads):
            names = frozenset(h for h in heads if h not in self.env.globals)
            return _TemplateInfo(names)
        try:
            tree = self.env.parse(source)
            names = frozenset(meta.find_undeclared_variables(tree))
            refs = list(meta.find_referenced_templates(tree))
        except jinja2.TemplateSyntaxError as exc:
            msg = exc.message or "invalid template"
            if self.ignore_unknown_filters and msg.startswith(
                ("No filter named", "No test named")
            ):
                return _NO_TEMPLATE
            return _TemplateInfo(error=msg, lineno=exc.lineno or 1)
        except (RecursionError, MemoryError):
            return _TemplateInfo(error="template is nested too deeply")
        except Exception as exc:  # a template must never crash the checker
            return _TemplateInfo(error=f"{type(exc).__name__}: {exc}")
        return _TemplateInfo(
            names,
            frozenset(r for r in refs if r is not None),
            any(r is None for r in refs),
        )


# --------------------------------------------------------------------------- workflow checks


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _strings(value: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    """Every string inside nested dicts/lists, with its path (keys are not rendered)."""
    stack: list[tuple[Path_, Any]] = [(path, value)]
    while stack:
        p, v = stack.pop()
        if isinstance(v, str):
            yield p, v
        elif isinstance(v, dict):
            stack.extend(((*p, k), x) for k, x in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend(((*p, j), x) for j, x in reversed(list(enumerate(v))))


class _Use(NamedTuple):
    name: str
    path: Path_
    what: str  # "expression" / "template"


class _Checker:
    def __init__(self, lw: LoadedWorkflow, ctx: CheckContext, templates: _Templates) -> None:
        self.lw = lw
        self.wf = lw.workflow
        self.ctx = ctx
        self.reg = ctx.registry
        self.tpl = templates
        self.problems: list[Problem] = []
        self.uses: dict[int, list[_Use]] = {}
        self.eh_uses: list[_Use] = []
        self.step_types: dict[str, Any] = {}
        if self.reg is not None:
            self.step_types = self.reg.values("step_types")

    # -- helpers

    def at(self, path: Path_, *, key: bool = False) -> SourceLocation:
        return self.lw.source.locate(path, key=key)

    def add(
        self,
        message: str,
        path: Path_,
        code: str,
        *,
        step: str | None = None,
        hint: str | None = None,
        severity: Severity = "error",
        key: bool = False,
    ) -> None:
        self.problems.append(
            Problem(
                message, self.at(path, key=key), step=step, hint=hint, severity=severity, code=code
            )
        )

    def line_of(self, path: Path_) -> str:
        loc = self.at(path)
        return f"line {loc.line}" if loc.line > 0 else str(loc)

    # -- run

    def run(self) -> list[Problem]:
        wf = self.wf
        issues: list[_GraphIssue] = []
        graph = _build_graph(wf, issues)
        self.graph = graph
        self.check_ids(graph)
        for i, s in enumerate(wf.steps):
            self.check_step(i, s, graph)
        self.check_references(graph)
        self.check_workflow_level()
        for issue in issues:
            sid = wf.steps[issue.index].id
            self.add(issue.message, issue.path, issue.code, step=sid)
        self.check_flow(graph)
        return self.problems

    def check_ids(self, graph: StepGraph) -> None:
        for i, s in enumerate(self.wf.steps):
            first = graph.index[s.id]
            if first != i:
                self.add(
                    f"duplicate step id {s.id!r} (first defined at "
                    f"{self.line_of(('steps', first, 'id'))})",
                    ("steps", i, "id"),
                    "duplicate_id",
                    step=s.id,
                    hint="step ids must be unique within a workflow; rename one of them",
                )

    # -- per step

    def check_step(self, i: int, s: WorkflowStep, graph: StepGraph) -> None:
        t = _type_name(s)
        sid = s.id
        P: Path_ = ("steps", i)
        uses = self.uses.setdefault(i, [])
        builtin = t in _BUILTIN
        spec = None
        if not builtin and self.reg is not None:
            spec = self.step_types.get(t)
            if spec is None:
                known = sorted(_BUILTIN | set(self.step_types))
                self.add(
                    f"unknown step type {t!r}",
                    (*P, "type"),
                    "unknown_step_type",
                    step=sid,
                    hint=did_you_mean(t, known)
                    or f"built-in types: {', '.join(sorted(_BUILTIN))}",
                )

        # required fields
        required: Iterable[str] = _REQUIRED.get(t, ())
        if spec is not None:
            req = getattr(spec, "required", ())
            required = (
                [r for r in req if isinstance(r, str)] if isinstance(req, list | tuple) else ()
            )
        for name in required:
            if _empty(getattr(s, name, None)):
                what = "a non-empty 'loop_steps'" if name == "loop_steps" else repr(name)
                self.add(
                    f"{t} step {sid!r} needs {what}",
                    (*P, "id"),
                    "missing_field",
                    step=sid,
                )
        if t == "response":
            has_text, has_tpl = not _empty(s.response_text), not _empty(s.template)
            if not has_text and not has_tpl:
                self.add(
                    f"response step {sid!r} needs 'response_text' or 'template'",
                    (*P, "id"),
                    "missing_field",
                    step=sid,
                )
            elif has_text and has_tpl:
                self.add(
                    f"response step {sid!r} has both 'response_text' and 'template'",
                    (*P, "template"),
                    "conflicting_fields",
                    step=sid,
                    hint="keep exactly one of them",
                )
        if t == "goto" and _empty(s.next_step) and _empty(s.workflow):
            self.add(
                f"goto step {sid!r} needs 'next_step' or 'workflow'",
                (*P, "id"),
                "missing_field",
                step=sid,
            )

        # fields without effect
        if builtin:
            allowed = _TYPE_FIELDS[t]
            for name in sorted(s.model_fields_set & _SPECIFIC - allowed):
                self.add(
                    f"{name!r} has no effect on a {t} step",
                    (*P, name),
                    "no_effect",
                    step=sid,
                    severity="warning",
                    hint="remove it (or check the step's type)",
                    key=True,
                )

        # missing error handlers
        if (
            t in ("api_call", "slot_fill")
            and s.on_error is None
            and self.wf.error_handling is None
            and s.critical
        ):
            self.add(
                f"{t} step {sid!r} has no 'on_error' and the workflow has no 'error_handling': "
                "a failure ends the workflow with a generic error message",
                (*P, "id"),
                "no_error_handler",
                step=sid,
                severity="warning",
                hint="add 'on_error: STEP' or a workflow-level 'error_handling'",
            )

        # validation
        if s.validation is not None:
            vtype = s.validation.get("type")
            if vtype is None:
                self.add(
                    "validation needs a 'type' (the validator's name)",
                    (*P, "validation"),
                    "missing_field",
                    step=sid,
                    hint="e.g. validation: {type: number, min: 1}",
                )
            elif not isinstance(vtype, str) or not vtype:
                self.add(
                    "validation 'type' must be a validator name (a string)",
                    (*P, "validation", "type"),
                    "invalid_field",
                    step=sid,
                )
            else:
                self.check_plugin_name(
                    "validators",
                    vtype,
                    (*P, "validation", "type"),
                    "unknown_validator",
                    "validator",
                    sid,
                )

        # plugin names
        if s.auth_provider is not None and (t == "auth" or not builtin):
            self.check_plugin_name(
                "auth_providers",
                s.auth_provider,
                (*P, "auth_provider"),
                "unknown_auth_provider",
                "auth provider",
                sid,
            )
        if s.action_name is not None and (t == "custom_action" or not builtin):
            self.check_plugin_name(
                "actions", s.action_name, (*P, "action_name"), "unknown_action", "action", sid
            )
        if s.integration is not None and (t in ("api_call", "webhook") or not builtin):
            self.check_integration(s.integration, (*P, "integration"), sid)
        if s.workflow is not None and (t == "goto" or not builtin):
            ids = self.ctx.workflow_ids
            if ids and s.workflow not in ids and s.workflow != self.wf.workflow_id:
                self.add(
                    f"goto step {sid!r} starts workflow {s.workflow!r}, which does not exist",
                    (*P, "workflow"),
                    "unknown_workflow",
                    step=sid,
                    hint=did_you_mean(s.workflow, ids),
                )

        # expressions
        for fname in ("condition", "loop_condition"):
            text = getattr(s, fname)
            if text is None:
                continue
            expr = self.parse_expr(text, (*P, fname), sid, fname)
            if expr is not None:
                for name in sorted(expr.names | expr.variable_refs):
                    uses.append(_Use(name, (*P, fname), "expression"))

        # rendered strings
        for path, text in self.rendered(s, P):
            self.template_uses(text, path, sid, uses)
        if s.template is not None:
            self.named_template_uses(s.template, (*P, "template"), sid, uses)

    def rendered(self, s: WorkflowStep, P: Path_) -> Iterator[tuple[Path_, str]]:
        if s.response_text is not None:
            yield (*P, "response_text"), s.response_text
        if isinstance(s.prompt, str):
            yield (*P, "prompt"), s.prompt
        elif isinstance(s.prompt, list):
            for j, p in enumerate(s.prompt):
                yield (*P, "prompt", j), p
        if s.endpoint is not None:
            yield (*P, "endpoint"), s.endpoint
        if s.headers:
            for k, v in s.headers.items():
                yield (*P, "headers", k), v
        if s.request_body:
            yield from _strings(s.request_body, (*P, "request_body"))
        if s.parameters:
            yield from _strings(s.parameters, (*P, "parameters"))

    def parse_expr(self, text: str, path: Path_, sid: str | None, fname: str) -> Expression | None:
        try:
            expr = parse_expression(text)
        except ExpressionSyntaxError as exc:
            col = f" (column {exc.column})" if exc.column else ""
            msg = str(exc)
            if msg.startswith("invalid syntax: "):
                msg = msg[len("invalid syntax: ") :]
            self.add(
                f"{fname} {text!r} is not a valid expression: {msg}{col}",
                path,
                "expression_syntax",
                step=sid,
                hint="conditions are Python expressions, e.g. amount > 0 and confirmed == 'yes'",
            )
            return None
        except (RecursionError, MemoryError):
            self.add(f"{fname} is nested too deeply", path, "expression_syntax", step=sid)
            return None
        if self.reg is not None:
            for call in sorted(expr.calls):
                if not self.reg.has("functions", call):
                    self.add(
                        f"{fname} calls {call!r}, which no plugin provides",
                        path,
                        "unknown_function",
                        step=sid,
                        hint=did_you_mean(call, self.reg.names("functions"))
                        or f"known functions: {', '.join(self.reg.names('functions')[:10]) or 'none'}",
                    )
        return expr

    def template_uses(
        self, text: str, path: Path_, sid: str | None, uses: list[_Use] | None
    ) -> _TemplateInfo:
        info = self.tpl.analyze(text)
        if info.error is not None:
            where = f" (line {info.lineno} of the text)" if info.lineno > 1 else ""
            self.add(
                f"template syntax error{where}: {info.error}",
                path,
                "template_syntax",
                step=sid,
            )
            return info
        for ref in sorted(info.refs):
            if self.template_text(ref) is None:
                self.unknown_template(ref, path, sid)
        if uses is not None:
            for name in sorted(info.names):
                uses.append(_Use(name, path, "template"))
            for name in sorted(self.included_names(info.refs)):
                uses.append(_Use(name, path, "template"))
        return info

    def template_text(self, name: str) -> str | None:
        text = self.wf.templates.get(name)
        if text is None:
            text = self.ctx.templates.get(name)
        return text

    def unknown_template(self, name: str, path: Path_, sid: str | None) -> None:
        known = sorted(set(self.wf.templates) | set(self.ctx.templates))
        self.add(
            f"unknown template {name!r}",
            path,
            "unknown_template",
            step=sid,
            hint=did_you_mean(name, known)
            or "templates come from templates/NAME.j2 or the workflow's 'templates:' mapping",
        )

    def included_names(self, refs: Iterable[str]) -> set[str]:
        """Names read by the named templates ``refs`` and everything they include."""
        out: set[str] = set()
        seen: set[str] = set()
        todo = list(refs)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            text = self.template_text(name)
            if text is None:
                continue
            info = self.tpl.analyze(text)
            out |= info.names
            todo.extend(info.refs)
        return out

    def named_template_uses(
        self, name: str, path: Path_, sid: str | None, uses: list[_Use] | None
    ) -> None:
        if self.template_text(name) is None:
            self.unknown_template(name, path, sid)
            return
        if uses is not None:
            for n in sorted(self.included_names([name])):
                uses.append(_Use(n, path, "template"))

    def check_plugin_name(
        self, kind: Kind, name: str, path: Path_, code: str, what: str, sid: str
    ) -> None:
        if self.reg is None or self.reg.has(kind, name):
            return
        known = self.reg.names(kind)
        self.add(
            f"unknown {what} {name!r}",
            path,
            code,
            step=sid,
            hint=did_you_mean(name, known)
            or (f"known: {', '.join(known[:10])}" if known else f"no plugin provides any {what}"),
        )

    def check_integration(self, name: str, path: Path_, sid: str) -> None:
        if self.reg is None or self.reg.has("integrations", name):
            return
        if name in self.ctx.config.integrations:
            return
        known = sorted(set(self.reg.names("integrations")) | set(self.ctx.config.integrations))
        self.add(
            f"unknown integration {name!r}",
            path,
            "unknown_integration",
            step=sid,
            hint=did_you_mean(name, known)
            or "declare it under 'integrations:' in statechat.yaml or install a plugin",
        )

    # -- references

    def check_references(self, graph: StepGraph) -> None:
        ids = graph.index
        for i, s in enumerate(self.wf.steps):
            for fname in ("next_step", "on_error", "if_true", "if_false"):
                target = getattr(s, fname)
                if target is not None and target not in ids:
                    self.undefined_step(target, ("steps", i, fname), s.id, f"{fname} refers to")
            for j, target in enumerate(s.loop_steps or ()):
                if target not in ids:
                    self.undefined_step(
                        target,
                        ("steps", i, "loop_steps", j),
                        s.id,
                        "loop_steps lists",
                    )
        eh = self.wf.error_handling
        if eh is not None and eh.next_step is not None and eh.next_step not in ids:
            self.undefined_step(
                eh.next_step,
                ("error_handling", "next_step"),
                None,
                "error_handling.next_step refers to",
            )

    def undefined_step(self, target: str, path: Path_, sid: str | None, what: str) -> None:
        self.add(
            f"{what} step {target!r}, which is not defined in this workflow",
            path,
            "undefined_step",
            step=sid,
            hint=did_you_mean(target, self.graph.index)
            or f"add a step with id {target!r} or fix the reference",
        )

    # -- workflow level

    def check_workflow_level(self) -> None:
        wf = self.wf
        eh = wf.error_handling
        if eh is not None:
            if eh.response_text is not None and eh.template is not None:
                self.add(
                    "error_handling has both 'response_text' and 'template'",
                    ("error_handling", "template"),
                    "conflicting_fields",
                    hint="keep exactly one of them",
                )
            if eh.response_text is not None:
                self.template_uses(
                    eh.response_text, ("error_handling", "response_text"), None, self.eh_uses
                )
            if eh.template is not None:
                self.named_template_uses(
                    eh.template, ("error_handling", "template"), None, self.eh_uses
                )
        for name, text in wf.templates.items():
            self.template_uses(text, ("templates", name), None, None)
        intents = self.ctx.config.intents
        if wf.trigger_intent is not None and intents and wf.trigger_intent not in intents:
            self.add(
                f"trigger_intent {wf.trigger_intent!r} is not among the intents of statechat.yaml",
                ("trigger_intent",),
                "unknown_intent",
                severity="warning",
                hint=did_you_mean(wf.trigger_intent, intents)
                or "add it under 'intents:' so the built-in NLU can recognise it",
            )

    # -- flow analyses

    def check_flow(self, graph: StepGraph) -> None:
        wf = self.wf
        steps = wf.steps
        ids = list(graph.index)
        n = len(ids)
        if n == 0:
            return
        k_of = {sid: k for k, sid in enumerate(ids)}
        step_of = [steps[graph.index[sid]] for sid in ids]
        types = [_type_name(s) for s in step_of]
        adj: list[list[int]] = [[] for _ in range(n)]
        labels: list[list[str]] = [[] for _ in range(n)]
        has_end = [False] * n
        for k, sid in enumerate(ids):
            for e in graph.edges[sid]:
                if e.target is None:
                    has_end[k] = True
                else:
                    adj[k].append(k_of[e.target])
                    labels[k].append(e.label)
        for sid, _f, _t in graph.dangling:
            has_end[k_of[sid]] = True  # already an error: don't pile on "never ends"

        # containment tree (Euler tour) to test "A is a proper ancestor of S"
        parent = [-1 if (cont := graph.container[sid]) is None else k_of[cont] for sid in ids]
        children: list[list[int]] = [[] for _ in range(n)]
        for k in range(n):
            if parent[k] >= 0:
                children[parent[k]].append(k)
        tin = [0] * n
        tout = [0] * n
        clock = 0
        for root in range(n):
            if parent[root] >= 0:
                continue
            stack = [(root, 0)]
            tin[root] = clock
            clock += 1
            while stack:
                v, ci = stack[-1]
                if ci < len(children[v]):
                    stack[-1] = (v, ci + 1)
                    w = children[v][ci]
                    tin[w] = clock
                    clock += 1
                    stack.append((w, 0))
                else:
                    stack.pop()
                    tout[v] = clock
                    clock += 1

        def inside(s: int, a: int) -> bool:  # s is in the body (at any depth) of loop a
            return s != a and tin[a] < tin[s] and tout[s] <= tout[a]

        # jumps into loop bodies
        reported: set[tuple[int, str]] = set()
        for k in range(n):
            s = step_of[k]
            i = graph.index[ids[k]]
            for w, label in zip(adj[k], labels[k], strict=True):
                c = parent[w]
                if label == "body" or c < 0 or inside(k, c):
                    continue
                if label == "error_handling":
                    continue  # reported once below
                fname = {
                    "next": "next_step",
                    "true": "if_true",
                    "false": "if_false",
                    "error": "on_error" if s.on_error is not None else "next_step",
                    "loop": "next_step",
                }.get(label, "next_step")
                if (k, fname) in reported:
                    continue
                reported.add((k, fname))
                self.add(
                    f"{fname} of step {ids[k]!r} jumps into the body of loop {ids[c]!r} "
                    f"(step {ids[w]!r})",
                    ("steps", i, fname),
                    "loop_body",
                    step=ids[k],
                    hint=f"continue at the loop step {ids[c]!r} instead",
                )
        eh_target = wf.error_handling.next_step if wf.error_handling is not None else None
        if eh_target in k_of and parent[k_of[eh_target]] >= 0:
            self.add(
                f"error_handling.next_step jumps into the body of loop "
                f"{ids[parent[k_of[eh_target]]]!r}",
                ("error_handling", "next_step"),
                "loop_body",
                hint="a failure can happen anywhere: continue at a top-level step",
            )
        if parent[0] >= 0:
            self.add(
                f"the first step {ids[0]!r} is in the body of loop {ids[parent[0]]!r}; "
                "a workflow cannot start inside a loop",
                ("steps", 0, "id"),
                "loop_body",
                step=ids[0],
            )

        # body steps' own next_step is ignored
        for k in range(n):
            c = parent[k]
            s = step_of[k]
            if c >= 0 and s.next_step is not None:
                self.add(
                    f"next_step has no effect: {ids[k]!r} is in the body of loop {ids[c]!r}, "
                    "which runs its loop_steps in order",
                    ("steps", graph.index[ids[k]], "next_step"),
                    "no_effect",
                    step=ids[k],
                    severity="warning",
                    hint="remove next_step, or reorder loop_steps",
                    key=True,
                )

        # reachability from the start (and error_handling.next_step if any step can fail)
        roots = [0]
        eh = wf.error_handling
        eh_root = -1
        if (
            eh is not None
            and eh.next_step in k_of
            and any(t in _FAILABLE or t not in _BUILTIN for t in types)
        ):
            eh_root = k_of[eh.next_step]
            roots.append(eh_root)
        reach = [False] * n
        todo = deque(r for r in roots)
        for r in roots:
            reach[r] = True
        while todo:
            v = todo.popleft()
            for w in adj[v]:
                if not reach[w]:
                    reach[w] = True
                    todo.append(w)
        for k in range(n):
            if not reach[k]:
                self.add(
                    f"step {ids[k]!r} is unreachable: no path from the first step "
                    f"{ids[0]!r} leads to it",
                    ("steps", graph.index[ids[k]], "id"),
                    "unreachable",
                    step=ids[k],
                    hint="reference it from another step's next_step / if_true / if_false / "
                    "on_error, or remove it",
                )

        # steps that can never reach an end
        comps = _tarjan(n, adj)
        comp_of = [0] * n
        for ci, comp in enumerate(comps):
            for v in comp:
                comp_of[v] = ci
        can_end = [False] * len(comps)
        for ci, comp in enumerate(comps):  # sinks first
            ok = False
            leaves = False
            for v in comp:
                if has_end[v]:
                    ok = True
                for w in adj[v]:
                    if comp_of[w] != ci:
                        leaves = True
                        if can_end[comp_of[w]]:
                            ok = True
            can_end[ci] = ok
            if not ok and not leaves and reach[comp[0]]:
                members = sorted(comp, key=lambda v: graph.index[ids[v]])
                first = members[0]
                listed = ", ".join(repr(ids[v]) for v in members[:_MAX_LISTED])
                more = (
                    f" and {len(members) - _MAX_LISTED} more" if len(members) > _MAX_LISTED else ""
                )
                self.add(
                    f"step {ids[first]!r} can never reach an end of the workflow: "
                    f"steps {listed}{more} only lead to each other",
                    ("steps", graph.index[ids[first]], "id"),
                    "no_end",
                    step=ids[first],
                    hint="give one of them a way out (a step without next_step ends the workflow)",
                )

        # cycles of automatic steps (loop iterations excepted)
        waiting = [self.waits(step_of[k], types[k]) for k in range(n)]
        auto_adj: list[list[int]] = [[] for _ in range(n)]
        for k in range(n):
            if waiting[k]:
                continue
            for w in adj[k]:
                if waiting[w]:
                    continue
                if types[w] == "loop" and inside(k, w):
                    continue  # back to an enclosing loop: an iteration, bounded
                auto_adj[k].append(w)
        for comp in _tarjan(n, auto_adj):
            v0 = comp[0]
            if len(comp) == 1 and v0 not in auto_adj[v0]:
                continue
            if not reach[v0]:
                continue
            cycle = _cycle_in(comp, auto_adj, min(comp, key=lambda v: graph.index[ids[v]]))
            shown = [repr(ids[v]) for v in cycle[: _MAX_LISTED + 1]]
            if len(cycle) > _MAX_LISTED + 1:
                shown.append("...")
            first = cycle[0]
            self.add(
                "steps " + " -> ".join(shown) + " form a cycle without a waiting step: "
                "the flow would run forever in one turn",
                ("steps", graph.index[ids[first]], "id"),
                "spin_cycle",
                step=ids[first],
                hint="put a slot_fill / wait_input step in the cycle, or use a loop step "
                "(bounded by max_iterations)",
            )

        self.check_names(graph, ids, step_of, types, adj, labels, roots, eh_root, reach)

    def waits(self, s: WorkflowStep, t: str) -> bool:
        if t in _WAITING:
            return True
        if t in _BUILTIN:
            return t == "goto" and s.workflow is not None  # the sub-flow may wait
        spec = self.step_types.get(t)
        return True if spec is None else bool(getattr(spec, "waits", False))

    # -- names

    def check_names(
        self,
        graph: StepGraph,
        ids: list[str],
        step_of: list[WorkflowStep],
        types: list[str],
        adj: list[list[int]],
        labels: list[list[str]],
        roots: list[int],
        eh_root: int,
        reach: list[bool],
    ) -> None:
        wf = self.wf
        n = len(ids)
        base: set[str] = set(CONTEXT_NAMES) | SYSTEM_NAMES | set(wf.variables)
        if self.reg is not None:
            base |= set(self.reg.names("functions"))
        # what each step defines (on success)
        defines: list[tuple[str, ...]] = []
        anything = [False] * n
        definer: dict[str, str] = {}
        for k in range(n):
            s, t = step_of[k], types[k]
            d: list[str] = []
            if t in ("slot_fill", "wait_input") and s.slot:
                d.append(s.slot)
            if t in ("api_call", "webhook") and s.response_mapping:
                for var in s.response_mapping.values():
                    if isinstance(var, str) and var:
                        d.append(var)
                        head = re.split(r"[.\[]", var, maxsplit=1)[0]
                        if head != var:
                            d.append(head)
            if t == "custom_action" or t not in _BUILTIN or (t == "goto" and s.workflow):
                anything[k] = True
            defines.append(tuple(d))
            for name in d:
                definer.setdefault(name, ids[k])
        # bits only for names that are both used and defined somewhere
        used: set[str] = set()
        for us in self.uses.values():
            used.update(u.name for u in us)
        eh_uses = self.eh_uses
        used.update(u.name for u in eh_uses)
        used -= base
        if not used:
            return
        bit: dict[str, int] = {"*": 1}
        for name in sorted(used & set(definer)):
            bit[name] = 1 << len(bit)
        TOP = 1
        gen = [0] * n
        all_gen = 0
        for k in range(n):
            g = TOP if anything[k] else 0
            for name in defines[k]:
                g |= bit.get(name, 0)
            gen[k] = g
            all_gen |= g

        inb = [0] * n
        seen = [False] * n
        queued = [False] * n
        todo: deque[int] = deque()
        for r in roots:
            seen[r] = queued[r] = True
            todo.append(r)
        if eh_root >= 0:
            inb[eh_root] = all_gen  # a failure anywhere may lead there
        while todo:
            v = todo.popleft()
            queued[v] = False
            ok = inb[v] | gen[v]
            err = inb[v]
            for w, label in zip(adj[v], labels[v], strict=True):
                new = inb[w] | (err if label in ERROR_LABELS else ok)
                if not seen[w] or new != inb[w]:
                    seen[w] = True
                    inb[w] = new
                    if not queued[w]:
                        queued[w] = True
                        todo.append(w)

        candidates: list[str] | None = None

        def report(u: _Use, sid: str | None, where: str) -> None:
            nonlocal candidates
            if candidates is None:
                candidates = sorted(base | set(definer))
            hint = did_you_mean(u.name, candidates)
            if hint is None and u.name in definer:
                hint = (
                    f"{u.name!r} is set by step {definer[u.name]!r}, which never runs before "
                    f"{where}"
                )
            self.add(
                f"{u.name!r} is not defined on any path to {where}",
                u.path,
                "undefined_name",
                step=sid,
                hint=hint
                or "set it in the workflow's 'variables', collect it with a slot_fill step, "
                "or map it from an api_call's response_mapping",
            )

        k_of = {sid: k for k, sid in enumerate(ids)}
        for i, us in self.uses.items():
            if not us:
                continue
            sid = wf.steps[i].id
            k = k_of[sid]
            if graph.index[sid] != i or not reach[k]:
                continue  # duplicates and unreachable steps are reported already
            have = inb[k]
            if have & TOP:
                continue
            done: set[tuple[str, Path_]] = set()
            for u in us:
                if u.name in base or (u.name, u.path) in done:
                    continue
                done.add((u.name, u.path))
                b = bit.get(u.name, 0)
                if not (have & b):
                    report(u, sid, f"step {sid!r}")
        if eh_uses and not (all_gen & TOP):
            done_eh: set[tuple[str, Path_]] = set()
            for u in eh_uses:
                if u.name in base or u.name in definer or (u.name, u.path) in done_eh:
                    continue
                done_eh.add((u.name, u.path))
                report(u, None, "error_handling")


def _cycle_in(comp: list[int], adj: list[list[int]], start: int) -> list[int]:
    """A shortest cycle through ``start`` inside one strongly connected component."""
    members = set(comp)
    prev: dict[int, int] = {}
    todo = deque([start])
    seen = {start}
    while todo:
        v = todo.popleft()
        for w in adj[v]:
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                path.reverse()
                return path + [start]
            if w in members and w not in seen:
                seen.add(w)
                prev[w] = v
                todo.append(w)
    return [start, start]


# --------------------------------------------------------------------------- entry points


def _templates_for(ctx: CheckContext) -> _Templates:
    engine = ctx.engine
    if engine is None:
        filters: dict[str, Callable[..., Any]] = {}
        if ctx.registry is not None:
            filters = {
                k: v for k, v in ctx.registry.values("template_filters").items() if callable(v)
            }
        engine = TemplateEngine(filters=filters)
    return _Templates(engine, ignore_unknown_filters=ctx.engine is None and ctx.registry is None)


def _internal(exc: BaseException, where: SourceLocation | None) -> Problem:
    return Problem(
        f"internal error in the checks ({type(exc).__name__}: {exc}); please report this",
        where,
        code="internal_error",
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    # the checks allocate many small containers but no garbage cycles: without this pause,
    # full collections over the loaded models double the time for very large workflows
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _by_position(problems: list[Problem]) -> list[Problem]:
    def key(p: Problem) -> tuple[int, int]:
        loc = p.location
        return (loc.line, loc.column) if loc is not None else (0, 0)

    return sorted(problems, key=key)  # stable: dict-loaded workflows keep check order


def check_workflow(lw: LoadedWorkflow, ctx: CheckContext | None = None) -> list[Problem]:
    """Check one loaded workflow; return every problem found (errors and warnings), by position.

    Never raises: an unexpected failure of the checker itself becomes a problem with code
    ``internal_error``.
    """
    ctx = ctx if ctx is not None else CheckContext()
    with _gc_paused():
        return _check_workflow(lw, ctx, _templates_for(ctx))


def _check_workflow(lw: LoadedWorkflow, ctx: CheckContext, templates: _Templates) -> list[Problem]:
    checker = _Checker(lw, ctx, templates)
    try:
        return _by_position(checker.run())
    except Exception as exc:  # the checker must never crash on weird input
        return [*checker.problems, _internal(exc, SourceLocation(lw.file))]


def check_bot(bot: BotSource, ctx: CheckContext | None = None) -> list[Problem]:
    """Check every workflow of a bot plus what spans workflows.

    Returns ``bot.problems`` (loading problems) first, then bot template syntax errors, then each
    workflow's problems, then duplicate ``workflow_id`` / ``trigger_intent`` across files.
    The bot's own configuration, templates and workflow ids are used; ``ctx`` supplies the registry
    and engine (its templates and workflow ids are added to the bot's).
    """
    ctx = ctx if ctx is not None else CheckContext()
    problems: list[Problem] = list(bot.problems)
    with _gc_paused():
        _check_bot(bot, ctx, problems)
    return problems


def _check_bot(bot: BotSource, ctx: CheckContext, problems: list[Problem]) -> None:
    try:
        templates = {name: text for name, (text, _loc) in bot.templates.items()}
        templates.update(ctx.templates)
        ids = frozenset(lw.workflow.workflow_id for lw in bot.workflows) | ctx.workflow_ids
        wctx = CheckContext(
            registry=ctx.registry,
            config=bot.config,
            templates=templates,
            workflow_ids=ids,
            engine=ctx.engine,
        )
        tpl = _templates_for(wctx)
        for name, (text, loc) in sorted(bot.templates.items()):
            info = tpl.analyze(text)
            if info.error is not None:
                problems.append(
                    Problem(
                        f"template syntax error: {info.error}",
                        SourceLocation(loc.file, info.lineno, 1),
                        code="template_syntax",
                    )
                )
                continue
            for ref in sorted(info.refs):
                if ref not in templates:
                    problems.append(
                        Problem(
                            f"template {name!r} includes unknown template {ref!r}",
                            loc,
                            hint=did_you_mean(ref, templates),
                            code="unknown_template",
                        )
                    )
        for lw in bot.workflows:
            problems.extend(_check_workflow(lw, wctx, tpl))
        problems.extend(_cross_workflow(bot))
    except Exception as exc:  # never crash
        problems.append(_internal(exc, SourceLocation(bot.root)))


def _cross_workflow(bot: BotSource) -> list[Problem]:
    problems: list[Problem] = []
    by_id: dict[str, LoadedWorkflow] = {}
    by_intent: dict[str, LoadedWorkflow] = {}
    for lw in bot.workflows:
        wf = lw.workflow
        first = by_id.setdefault(wf.workflow_id, lw)
        if first is not lw:
            problems.append(
                Problem(
                    f"duplicate workflow_id {wf.workflow_id!r} (also in "
                    f"{first.source.locate(('workflow_id',))})",
                    lw.source.locate(("workflow_id",)),
                    hint="workflow ids must be unique within a bot",
                    code="duplicate_workflow",
                )
            )
        if wf.trigger_intent is not None:
            other = by_intent.setdefault(wf.trigger_intent, lw)
            if other is not lw:
                problems.append(
                    Problem(
                        f"trigger_intent {wf.trigger_intent!r} also starts workflow "
                        f"{other.workflow.workflow_id!r} "
                        f"({other.source.locate(('trigger_intent',))})",
                        lw.source.locate(("trigger_intent",)),
                        hint="each intent may start only one workflow",
                        code="duplicate_trigger",
                    )
                )
    return problems
