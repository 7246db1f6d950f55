"""Property tests: random workflows never crash the loader (only CompileError) or the checks."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statechat.compiler.checks import CheckContext, check_workflow, step_graph
from statechat.compiler.loader import load_workflow_dict, parse_text
from statechat.compiler.schema import StepType
from statechat.errors import CompileError
from statechat.plugins.api import StepTypeSpec
from statechat.plugins.registry import Registry

IDS = ["a", "b", "c", "d", "e", "on", "yes", "loop1", "loop2"]
TYPES = [t.value for t in StepType] + ["notify", "approval", "mystery"]
NAMES = ["amount", "x", "variables", "text", "turn", "result", "loop_index", "nope"]

ref = st.one_of(st.sampled_from(IDS), st.text(max_size=6))
name = st.sampled_from(NAMES)
expression = st.one_of(
    st.sampled_from(
        [
            "amount > 1",
            "x ==",
            "variables['amount'] > 0",
            "len(text) > 2",
            "f(x)(y)",
            "",
            "lambda: 1",
            "[i for i in x]",
            "a if b else c",
            "not",
            "1 +* 2",
            "x.y.z",
            "(((",
        ]
    ),
    st.text(max_size=20),
)
template = st.one_of(
    st.sampled_from(
        [
            "{amount}",
            "{{ x }}",
            "{% if x %}y{% endif %}",
            "{% if %}",
            "{{ x | nofilter }}",
            "{% include 'missing' %}",
            "{{",
            "}}",
            "{a.b[0]}",
            "${amount}",
            "{{ loop.index }}",
            "{% for i in range(3) %}{{ i }}{% endfor %}",
            "{{ 'a' ~ text }}",
            "{# c #}",
            "plain",
        ]
    ),
    st.text(max_size=20),
)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), template)
nested = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)

OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "next_step": ref,
    "on_error": ref,
    "if_true": ref,
    "if_false": ref,
    "condition": expression,
    "loop_condition": expression,
    "loop_steps": st.lists(ref, max_size=4),
    "slot": name,
    "prompt": st.one_of(template, st.lists(template, max_size=3)),
    "response_text": template,
    "template": st.sampled_from(["t1", "missing"]),
    "endpoint": template,
    "headers": st.dictionaries(st.text(max_size=4), template, max_size=2),
    "request_body": st.dictionaries(st.text(max_size=4), nested, max_size=3),
    "parameters": st.dictionaries(st.text(max_size=4), nested, max_size=3),
    "response_mapping": st.dictionaries(st.text(max_size=4), name, max_size=2),
    "validation": st.one_of(
        st.dictionaries(st.sampled_from(["type", "min", "x"]), scalar, max_size=2),
        st.just({"type": "number"}),
    ),
    "action_name": st.sampled_from(["act", "nope"]),
    "integration": st.sampled_from(["core", "nope"]),
    "auth_provider": st.sampled_from(["session", "nope"]),
    "workflow": st.sampled_from(["other", "t", "nope"]),
    "critical": st.booleans(),
    "max_iterations": st.integers(0, 3),
    "retry_limit": st.integers(-1, 3),
    "bogus_key": st.integers(),
}


@st.composite
def step(draw: st.DrawFn) -> dict[str, Any]:
    s: dict[str, Any] = {"id": draw(ref), "type": draw(st.sampled_from(TYPES))}
    keys = draw(st.lists(st.sampled_from(sorted(OPTIONAL)), max_size=6, unique=True))
    for k in keys:
        if k == "bogus_key" and draw(st.integers(0, 9)) > 0:
            continue  # mostly schema-valid workflows, so the checks get exercised
        s[k] = draw(OPTIONAL[k])
    return s


@st.composite
def workflow(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "workflow_id": "t",
        "steps": draw(st.lists(step(), min_size=1, max_size=9)),
    }
    if draw(st.booleans()):
        data["variables"] = {"amount": 1}
    if draw(st.booleans()):
        data["error_handling"] = {
            "response_text": draw(template),
            "next_step": draw(st.one_of(st.none(), ref)),
        }
    if draw(st.booleans()):
        data["templates"] = {"t1": draw(template)}
    return data


@st.composite
def graph_workflow(draw: st.DrawFn) -> dict[str, Any]:
    """Unique ids, references mostly to existing steps: exercises loops, cycles and names."""
    n = draw(st.integers(1, 10))
    ids = [f"s{i}" for i in range(n)]
    target = st.one_of(st.sampled_from(ids), st.none(), st.just("ghost"))
    types = [
        "response",
        "condition",
        "loop",
        "slot_fill",
        "wait_input",
        "custom_action",
        "goto",
        "api_call",
        "approval",
        "notify",
    ]
    steps = []
    for sid in ids:
        t = draw(st.sampled_from(types))
        s: dict[str, Any] = {"id": sid, "type": t}
        for k in ("next_step", "on_error", "if_true", "if_false"):
            if draw(st.booleans()):
                value = draw(target)
                if value is not None:
                    s[k] = value
        if t == "loop":
            s["loop_condition"] = "loop_index < 2"
            s["loop_steps"] = draw(st.lists(st.sampled_from([*ids, "ghost"]), max_size=4))
        if t == "condition":
            s["condition"] = draw(st.sampled_from(["x > 1", "result", "amount"]))
        if t == "slot_fill":
            s.update(slot=draw(name), prompt=draw(template))
        if t == "response":
            s["response_text"] = draw(template)
        if t == "api_call":
            s.update(integration="core", endpoint="/x/{amount}", response_mapping={"r": "result"})
        if t == "custom_action":
            s["action_name"] = "act"
        if t == "goto" and draw(st.booleans()):
            s["workflow"] = "other"
        if t == "notify":
            s["endpoint"] = "/n"
        if draw(st.integers(0, 4)) == 0:
            s["critical"] = False
        steps.append(s)
    data: dict[str, Any] = {"workflow_id": "t", "steps": steps}
    if draw(st.booleans()):
        data["error_handling"] = {"next_step": draw(st.sampled_from(ids))}
    return data


async def _run(ctx: Any, step: Any, message: Any) -> str:
    return "ok"


def _registry() -> Registry:
    r = Registry()
    r.add("actions", "act", object(), "t")
    r.add("integrations", "core", object(), "t")
    r.add("auth_providers", "session", object(), "t")
    r.add("validators", "number", object(), "t")
    r.add("functions", "len", len, "t")
    r.add("step_types", "notify", StepTypeSpec(_run, required=("endpoint",)), "t")
    r.add("step_types", "approval", StepTypeSpec(_run, waits=True), "t")
    return r


CONTEXTS = [
    CheckContext(),
    CheckContext(registry=_registry(), workflow_ids=frozenset({"t", "other"})),
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(workflow(), graph_workflow()))
def test_random_workflows_never_crash(data: dict[str, Any]) -> None:
    try:
        lw = load_workflow_dict(data)
    except CompileError as exc:
        assert exc.problems
        return
    g = step_graph(lw.workflow)
    assert g.start == lw.workflow.steps[0].id
    for sid, edges in g.edges.items():
        assert sid in g.index
        for e in edges:
            assert e.target is None or e.target in g.index
    for sid in g.index:  # containment is a forest
        seen = {sid}
        c = g.container[sid]
        while c is not None:
            assert c not in seen
            seen.add(c)
            c = g.container[c]
    for loop, body in g.loop_bodies.items():
        assert all(g.container[b] == loop for b in body)
    for ctx in CONTEXTS:
        problems = check_workflow(lw, ctx)
        internal = [p for p in problems if p.code == "internal_error"]
        assert not internal, internal[0].message
        for p in problems:
            assert p.location is not None and p.message and p.code


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_only_raises_compile_error(text: str) -> None:
    try:
        parse_text(text, "random.yaml")
    except CompileError as exc:
        assert exc.problems


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        scalar,
        lambda inner: (
            st.dictionaries(st.text(max_size=8), inner, max_size=4) | st.lists(inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_random_data_only_raises_compile_error(data: Any) -> None:
    try:
        load_workflow_dict(data if isinstance(data, dict) else {"workflow_id": "x", "steps": data})
    except CompileError as exc:
        assert exc.problems
