"""State diagrams of compiled workflows, over python-statemachine's own diagram renderers.

``render(bot, "banking_transfer_v1", fmt="svg")`` draws the workflow's StateChart class: every
step is a node (state id ``wf__step``, labelled with the step id and its type), every transition
an edge labelled with its event (``ok``, ``fail``, ``message``, ``resume``...) and, for
conditions and loops, the guard's expression. The ``fail`` edges (``on_error`` /
``error_handling``), the deep history state ``H*`` that a digression resumes through, and the
``suspended`` / ``done`` states around the workflow are all drawn. Not drawn: the catch-all
``error.execution`` transition every workflow has (an error inside the engine aborts the turn).

The pipeline is the library's: :func:`statemachine.contrib.diagram.extract.extract` turns the class
into its diagram model, statechat relabels it (step ids instead of generated names, event ids,
the active states of a session) and hands it to the library's ``DotRenderer``,
``MermaidRenderer`` or ``TransitionTableRenderer``. Without ``workflow_id`` every workflow of the
bot is drawn: one cluster per workflow in ``dot``/``svg``/``png``/``mermaid``, one section per
workflow in ``md``.

Formats: ``dot`` (Graphviz source; needs the ``pydot`` package), ``svg`` and ``png`` (also need
the Graphviz ``dot`` program), ``mermaid`` (``stateDiagram-v2``) and ``md`` (Markdown: a Mermaid
block and a transition table per workflow) need nothing else.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from statechat.compiler.build import ERROR_EVENT
from statechat.errors import StatechatError, UsageError

if TYPE_CHECKING:
    from statemachine import StateChart
    from statemachine.contrib.diagram.model import DiagramGraph, DiagramState

    from statechat.compiler.ir import WorkflowIR
    from statechat.compiler.pipeline import CompiledBot

__all__ = [
    "FORMATS",
    "DiagramError",
    "active_states",
    "graphviz_available",
    "render",
]

#: Output formats of :func:`render` (``mmd`` is accepted for ``mermaid``, ``markdown`` for ``md``).
FORMATS: Final = ("svg", "png", "dot", "mermaid", "md")
_WRAPPER_SUFFIX: Final = "___workflow"
_ALIASES: Final = {"mmd": "mermaid", "markdown": "md", "gv": "dot"}

#: How to get the Graphviz ``dot`` program, shown when it is missing.
GRAPHVIZ_HINT: Final = (
    "Install Graphviz: 'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' "
    "(macOS), 'choco install graphviz' (Windows) or see https://graphviz.org/download/. "
    "The text formats (dot, mermaid, md) do not need it."
)

#: Fill colour of the active states (the library's highlight, as a Graphviz colour).
ACTIVE_FILL: Final = "turquoise"


class DiagramError(StatechatError):
    """A diagram cannot be produced (Graphviz or pydot missing, Graphviz failed)."""

    def __init__(self, message: str, *, code: str = "diagram_failed") -> None:
        self.code = code
        super().__init__(message)


def graphviz_available() -> bool:
    """Whether the Graphviz ``dot`` program is on ``PATH`` (needed for svg and png)."""
    return shutil.which("dot") is not None


def _normalize_format(fmt: str) -> str:
    name = _ALIASES.get(fmt, fmt)
    if name not in FORMATS:
        raise UsageError(
            f"unknown diagram format {fmt!r}: use one of {', '.join(FORMATS)}", code="bad_format"
        )
    return name


def _compiled(bot_or_compiled: Any) -> CompiledBot:
    compiled = getattr(bot_or_compiled, "compiled", bot_or_compiled)
    if not hasattr(compiled, "workflows") or not hasattr(compiled, "classes"):
        raise TypeError(f"expected a statechat Bot or CompiledBot, got {type(bot_or_compiled)!r}")
    return compiled  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- session highlight


@dataclass
class _Active:
    """The active states of one workflow in a session, and the version they belong to."""

    version: str | None = None
    states: set[str] = field(default_factory=set)


def active_states(session: Mapping[str, Any] | Iterable[str] | None) -> dict[str, set[str]]:
    """The active state ids of a session, by workflow id.

    ``session`` is a stored snapshot (``{"stack": [{"workflow", "configuration", ...}]}``, what
    the store keeps) or an iterable of state ids (applied to every workflow, under key ``"*"``).
    """
    return {k: v.states for k, v in _active(session).items()}


def _active(session: Mapping[str, Any] | Iterable[str] | None) -> dict[str, _Active]:
    if session is None:
        return {}
    if isinstance(session, Mapping):
        out: dict[str, _Active] = {}
        for frame in session.get("stack") or []:
            if not isinstance(frame, Mapping) or not isinstance(frame.get("workflow"), str):
                continue
            entry = out.setdefault(frame["workflow"], _Active())
            if frame.get("version") is not None and entry.version is None:
                entry.version = str(frame["version"])
            entry.states.update(str(s) for s in frame.get("configuration") or [])
        return out
    if isinstance(session, str):
        raise TypeError("session must be a snapshot mapping or an iterable of state ids")
    return {"*": _Active(states={str(s) for s in session})}


# --------------------------------------------------------------------------- the diagram model


def _events(cls: type[StateChart[Any]]) -> dict[str, str]:
    """Display name -> event id (the library shows ``Ok``; statechat's docs say ``ok``)."""
    names: dict[str, str] = {}
    for state in cls.states_map.values():
        for transition in state.transitions:
            for event in transition.events:
                names[str(event.name) if event.name else str(event)] = str(event)
    return names


def _step_detail(wf: WorkflowIR, state_id: str) -> str:
    step = wf.step_of(state_id)
    if step is None:
        return ""
    spec = step.spec
    extra = ""
    if step.type == "slot_fill" and spec.slot:
        extra = spec.slot
    elif step.type == "auth" and spec.auth_provider:
        extra = spec.auth_provider
    elif step.type == "api_call":
        extra = f"{spec.integration or ''} {spec.method}".strip()
    elif step.type == "custom_action" and spec.action_name:
        extra = spec.action_name
    elif step.type == "webhook":
        extra = f"event {step.event}"
    elif step.type == "goto" and spec.workflow:
        extra = f"workflow {spec.workflow}"
    elif step.type == "loop":
        extra = f"at most {spec.max_iterations}x"
    return f"{step.type}: {extra}" if extra else step.type


def _label_states(
    states: list[DiagramState], wf: WorkflowIR, active: set[str], model: Any
) -> None:
    special = {
        wf.root: wf.id,
        wf.error_state: "error_handling",
        wf.end_state: "end",
        wf.suspended: "suspended",
        wf.done: "done",
    }
    for state in states:
        state.is_active = state.id in active
        step_id = wf.state_to_step.get(state.id)
        if step_id is not None:
            state.name = step_id
            detail = _step_detail(wf, state.id)
            state.actions = [model.DiagramAction(type=model.ActionType.INTERNAL, body=detail)]
        elif state.id in special:
            state.name = special[state.id]
            state.actions = []
        elif state.id.endswith("___check"):
            state.name = "check"
            state.actions = []
        else:
            state.actions = []
        if state.id == wf.root:
            lines = [wf.workflow.name] if wf.workflow.name else []
            if wf.workflow.trigger_intent:
                lines.append(f"trigger: {wf.workflow.trigger_intent}")
            state.actions = [
                model.DiagramAction(type=model.ActionType.INTERNAL, body=line) for line in lines
            ]
        _label_states(state.children, wf, active, model)


def _diagram(
    compiled: CompiledBot, wf: WorkflowIR, active: _Active | None, *, markdown_safe: bool = False
) -> DiagramGraph:
    """The library's diagram model of one workflow, relabelled and highlighted."""
    from statemachine.contrib.diagram import model
    from statemachine.contrib.diagram.extract import extract

    cls = None
    if active is not None and active.version is not None:  # the version the session runs on
        key = (wf.id, active.version)
        cls = compiled.classes.get(key)
        versions = getattr(compiled, "versions", None) or {}
        if cls is not None and key in versions:
            wf = versions[key]
    if cls is None:
        cls = compiled.machine_class(wf.id)
    graph = extract(cls)
    graph.name = wf.id
    _label_states(graph.states, wf, active.states if active else set(), model)
    events = _events(cls)
    for t in graph.transitions:
        t.event = events.get(t.event, t.event)
        if markdown_safe:
            t.guards = [g.replace("|", "\\|") for g in t.guards]
    # every workflow has the same catch-all (see statechat.compiler.build.ERROR_EVENT): noise
    graph.transitions = [t for t in graph.transitions if t.event != ERROR_EVENT]
    return graph


def _compose(graphs: list[tuple[WorkflowIR, DiagramGraph]], name: str) -> DiagramGraph:
    """One diagram holding every workflow, each in its own cluster."""
    from statemachine.contrib.diagram import model

    out = model.DiagramGraph(name=name)
    for wf, g in graphs:
        wrapper = model.DiagramState(
            id=f"{wf.root}{_WRAPPER_SUFFIX}",
            name=f"workflow {wf.id}",
            type=model.StateType.REGULAR,
            children=g.states,
            is_active=any(_any_active(s) for s in g.states),
        )
        out.states.append(wrapper)
        out.transitions.extend(g.transitions)
        out.compound_state_ids |= g.compound_state_ids | {wrapper.id}
        out.bidirectional_compound_ids |= g.bidirectional_compound_ids
    return out


def _any_active(state: DiagramState) -> bool:
    return state.is_active or any(_any_active(c) for c in state.children)


# --------------------------------------------------------------------------- renderers


def _dot_graph(graph: DiagramGraph, *, newrank: bool = False) -> Any:
    try:
        from statemachine.contrib.diagram.renderers.dot import DotRenderer, DotRendererConfig
    except ModuleNotFoundError as exc:  # pragma: no cover - pydot is a dev/diagrams dependency
        raise DiagramError(
            "dot, svg and png diagrams need the 'pydot' package: "
            "pip install 'statechat[diagrams]' (mermaid and md need nothing)",
            code="pydot_missing",
        ) from exc
    config = DotRendererConfig(
        graph_attrs={"newrank": "true"} if newrank else {},
        state_font_size="11",
        transition_font_size="9",
        state_active_fillcolor=ACTIVE_FILL,
        state_active_penwidth=3,
    )
    dot = _stable_ids(DotRenderer)(config).render(graph)
    active = {s.id for s in _walk(graph.states) if s.is_active}
    _tag_nodes(dot, active)
    _hoist_edges(dot)
    return dot


def _stable_ids(base: Any) -> Any:
    """The library's DOT renderer, keeping every (sub)graph alive while it renders.

    It names clusters and initial nodes after ``id(parent_graph)``; pydot keeps only the
    graphs' dicts, so a finished subgraph is freed and its id reused by the next one, and two
    clusters end up with one name (Graphviz then drops one and fails on bigger bots).
    """

    class Renderer(base):  # type: ignore[misc, valid-type]
        def _render_states(
            self, states: Any, transitions: Any, parent: Any, *args: Any, **kwargs: Any
        ) -> Any:
            self.__dict__.setdefault("_alive", []).append(parent)
            return super()._render_states(states, transitions, parent, *args, **kwargs)

    return Renderer


def _hoist_edges(root: Any) -> None:
    """Move every edge of a workflow up to the workflow's outermost graph, after its clusters.

    Graphviz puts a node into the first cluster that mentions it, and the library's renderer
    writes a compound's edges inside its cluster, before the parent's own states: a loop's exit
    edge would drag the step after the loop into the loop's box. With the edges after all
    clusters, each cluster holds exactly its states. (In a whole-bot diagram the edges stay in
    their workflow's cluster: Graphviz 2.4x mis-routes compound edges hoisted any higher.)
    """
    wrappers = [
        sub for sub in root.get_subgraph_list() if sub.get_name().endswith(_WRAPPER_SUFFIX)
    ]
    for top in wrappers or [root]:
        edges: list[Any] = []
        _collect_edges(top, edges)
        for edge in edges:
            top.add_edge(edge)


def _collect_edges(graph: Any, edges: list[Any]) -> None:
    for sub in graph.get_subgraph_list():
        edges.extend(sub.get_edge_list())
        sub.obj_dict["edges"] = {}
        _collect_edges(sub, edges)


def _walk(states: list[DiagramState]) -> Iterable[DiagramState]:
    for s in states:
        yield s
        yield from _walk(s.children)


def _tag_nodes(graph: Any, active: set[str]) -> None:
    """SVG hooks: node ``id`` = state id, class ``state`` (plus ``active`` when active)."""
    for node in graph.get_node_list():
        name = node.get_name().strip('"')
        if name in ("node", "edge", "graph") or name.startswith("__initial_"):
            continue
        if node.get("style") == "invis":
            continue
        node.set("id", f'"{name}"')
        node.set("class", '"state active"' if name in active else '"state"')
    for sub in graph.get_subgraph_list():
        _tag_nodes(sub, active)


def _run_graphviz(dot_source: str, fmt: str) -> bytes:
    from statemachine.contrib.diagram.graphviz import GraphvizError, run_graphviz

    if not graphviz_available():
        raise DiagramError(
            f"{fmt} diagrams need the Graphviz 'dot' program, which was not found on PATH. "
            + GRAPHVIZ_HINT,
            code="graphviz_missing",
        )
    try:
        return run_graphviz(dot_source, fmt)
    except GraphvizError as exc:
        raise DiagramError(f"Graphviz failed: {exc}", code="graphviz_failed") from exc


def _mermaid(graph: DiagramGraph) -> str:
    from statemachine.contrib.diagram.renderers.mermaid import (
        MermaidRenderer,
        MermaidRendererConfig,
    )

    return MermaidRenderer(MermaidRendererConfig(direction="LR")).render(graph)


def _table(graph: DiagramGraph) -> str:
    from statemachine.contrib.diagram.renderers.table import TransitionTableRenderer

    return TransitionTableRenderer().render(graph, fmt="md")


def _markdown(
    compiled: CompiledBot, workflows: list[WorkflowIR], active: dict[str, _Active]
) -> str:
    parts: list[str] = []
    if len(workflows) > 1:
        parts.append(f"# Workflows ({len(workflows)})\n")
    level = "##" if len(workflows) > 1 else "#"
    for wf in workflows:
        entry = active.get(wf.id) or active.get("*")
        graph = _diagram(compiled, wf, entry, markdown_safe=True)
        w = wf.workflow
        parts.append(f"{level} {w.name or wf.id} (`{wf.id}`)\n")
        if w.description:
            parts.append(f"{w.description}\n")
        facts = [f"{len(w.steps)} steps", f"version `{wf.version[:12]}`"]
        if w.trigger_intent:
            facts.insert(0, f"trigger intent `{w.trigger_intent}`")
        parts.append(", ".join(facts) + "\n")
        current = sorted(
            wf.state_to_step[s.id]
            for s in _walk(graph.states)
            if s.is_active and s.id in wf.state_to_step
        )
        if current:
            parts.append("Current step: " + ", ".join(f"`{c}`" for c in current) + "\n")
        parts.append("```mermaid\n" + _mermaid(_diagram(compiled, wf, entry)) + "```\n")
        parts.append(_table(graph))
    return "\n".join(parts)


def render(
    bot_or_compiled: Any,
    workflow_id: str | None = None,
    fmt: str = "svg",
    session: Mapping[str, Any] | Iterable[str] | None = None,
) -> str | bytes:
    """Draw one workflow (or every workflow of the bot) as a state diagram.

    Args:
        bot_or_compiled: a :class:`statechat.Bot` or a
            :class:`~statechat.compiler.pipeline.CompiledBot`.
        workflow_id: the workflow to draw; ``None`` draws every workflow of the bot.
        fmt: ``svg``, ``png``, ``dot``, ``mermaid`` (or ``mmd``) or ``md`` (or ``markdown``).
        session: a stored session snapshot (``await bot.store.load(session_id)``) or an iterable
            of state ids: those states are highlighted (the session's current step), drawn from
            the workflow version the session runs on when the bot still has it.

    Returns:
        ``bytes`` for ``png``, ``str`` for every other format.

    Raises:
        UsageError: unknown workflow (``code="unknown_workflow"``) or format.
        DiagramError: ``svg``/``png`` without Graphviz ``dot`` on ``PATH`` (the message says how
            to install it), or ``dot``/``svg``/``png`` without ``pydot``.
    """
    compiled = _compiled(bot_or_compiled)
    fmt = _normalize_format(fmt)
    if workflow_id is not None:
        if workflow_id not in compiled.workflows:
            raise UsageError(
                f"unknown workflow {workflow_id!r}", code="unknown_workflow", status=404
            )
        workflows = [compiled.workflows[workflow_id]]
    else:
        workflows = list(compiled.workflows.values())
    active = _active(session)
    if fmt == "md":
        return _markdown(compiled, workflows, active)
    graphs = [
        (wf, _diagram(compiled, wf, active.get(wf.id) or active.get("*"))) for wf in workflows
    ]
    graph = graphs[0][1] if len(graphs) == 1 else _compose(graphs, "statechat")
    if fmt == "mermaid":
        return _mermaid(graph)
    # Graphviz's default ranking lays one workflow out best but can fail ("trouble in
    # init_rank") on several workflows in nested clusters, where newrank=true works.
    composite = len(graphs) > 1
    dot_source: str = _dot_graph(graph, newrank=composite).to_string()
    if fmt == "dot":
        return dot_source
    try:
        image = _run_graphviz(dot_source, fmt)
    except DiagramError as exc:
        if exc.code != "graphviz_failed" or composite:
            raise
        image = _run_graphviz(_dot_graph(graph, newrank=True).to_string(), fmt)
    return image if fmt == "png" else image.decode("utf-8")
