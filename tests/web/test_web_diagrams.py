"""Diagrams, checked structurally: every step is a node, every transition an edge with its label.

The expected nodes and edges come from the compiled StateChart classes themselves; the dot text
is parsed with pydot, the mermaid text line by line.
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydot
import pytest
from conftest import FLOWS

from statechat import UsageError
from statechat.cli import main
from statechat.compiler.build import ERROR_EVENT
from statechat.compiler.pipeline import CompiledBot, compile_path
from statechat.diagrams import DiagramError, active_states, graphviz_available, render

needs_graphviz = pytest.mark.skipif(not graphviz_available(), reason="Graphviz 'dot' missing")


@pytest.fixture(scope="module")
def compiled() -> CompiledBot:
    """The demo bot, compiled (no network: nothing runs)."""
    return compile_path(FLOWS)


def _workflows() -> list[str]:
    return sorted(compile_path(FLOWS).workflows)


class Edge:
    """A transition the class has, as the diagram should show it."""

    def __init__(self, source: str, target: str, event: str, guards: list[str]) -> None:
        self.source, self.target, self.event, self.guards = source, target, event, guards

    def __repr__(self) -> str:
        return f"{self.source} --{self.event} {self.guards}--> {self.target}"


def expected_edges(compiled: CompiledBot, workflow_id: str) -> list[Edge]:
    """Every transition of the workflow's class except compound initial ones (the black dot)."""
    cls = compiled.machine_class(workflow_id)
    out = []
    states = list(cls.states_map.values())
    states += [h for s in list(states) for h in getattr(s, "history", [])]  # H* pseudo-states
    for state in states:
        for t in state.transitions:
            events = [str(e) for e in t.events]
            if not events and state.states:
                continue  # compound -> its initial child: drawn from the initial dot
            if events == [ERROR_EVENT]:
                continue  # the catch-all every workflow has: deliberately not drawn
            targets = [x.id for x in t.targets] or [state.id]
            for target in targets:
                out.append(
                    Edge(state.id, target, events[0] if events else "", [str(c) for c in t.cond])
                )
    return out


def _all(graph: Any) -> Iterator[Any]:
    yield graph
    for sub in graph.get_subgraph_list():
        yield from _all(sub)


def _label_text(label: str | None) -> str:
    text = (label or "").strip('"')
    if text.startswith("<") and text.endswith(">"):  # an HTML label: <...>
        text = text[1:-1]
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return " ".join(text.split())


def _parse_dot(text: str) -> tuple[set[str], set[str], list[tuple[str, str, str]], dict[str, Any]]:
    with warnings.catch_warnings():  # pydot's parser uses deprecated pyparsing names
        warnings.simplefilter("ignore")
        graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1
    (graph,) = graphs
    nodes: dict[str, Any] = {}
    clusters: set[str] = set()
    edges: list[tuple[str, str, str]] = []
    for g in _all(graph):
        if g is not graph and g.get_name().startswith("cluster_"):
            clusters.add(g.get_name()[len("cluster_") :])
        for n in g.get_node_list():
            nodes[n.get_name().strip('"')] = n
        for e in g.get_edge_list():
            src = str(e.get_source()).strip('"')
            dst = str(e.get_destination()).strip('"')
            edges.append((_unanchor(src), _unanchor(dst), _label_text(e.get("label"))))
    return set(nodes), clusters, edges, nodes


def _unanchor(name: str) -> str:
    return re.sub(r"_anchor(_in|_out)?$", "", name)


# --------------------------------------------------------------------------- dot


@pytest.mark.parametrize("workflow_id", _workflows())
def test_dot_every_step_is_a_node_every_transition_an_edge(
    compiled: CompiledBot, workflow_id: str
) -> None:
    wf = compiled.workflows[workflow_id]
    text = render(compiled, workflow_id, "dot")
    assert isinstance(text, str)
    nodes, clusters, edges, _ = _parse_dot(text)
    for step in wf.steps.values():
        assert step.state in nodes or step.state in clusters, step.id
    for state_id in (wf.suspended, wf.done, wf.history):
        assert state_id in nodes
    remaining = list(edges)
    for want in expected_edges(compiled, workflow_id):
        match = [
            e
            for e in remaining
            if e[0] == want.source
            and e[1] == want.target
            and (want.event in e[2].split() or (not want.event and not e[2]))
            and all(g in e[2] for g in want.guards)
        ]
        assert match, f"no edge for {want!r} in {workflow_id}"
        remaining.remove(match[0])
    # the only edges left are the initial arrows from the black dots
    assert all(e[0].startswith("__initial_") for e in remaining), remaining


def test_dot_labels_guards_errors_and_history(compiled: CompiledBot) -> None:
    _, _, edges, _ = _parse_dot(str(render(compiled, "banking_transfer_v1", "dot")))
    p = "banking_transfer_v1__"
    labels = {(s, d): text for s, d, text in edges}
    assert labels[(f"{p}verify_funds", f"{p}confirm_transfer")] == (
        "ok [current_balance >= variables['amount']]"
    )
    assert labels[(f"{p}verify_funds", f"{p}insufficient_funds")] == (
        "ok [not (current_balance >= variables['amount'])]"
    )
    assert labels[(f"{p}check_balance", f"{p}service_error")] == "fail"
    assert labels[(f"{p}get_amount", f"{p}get_amount")] == "message"
    assert labels[("banking_transfer_v1___suspended", "banking_transfer_v1___history")] == "resume"
    assert labels[("banking_transfer_v1", "banking_transfer_v1___suspended")] == "suspend"
    assert ("banking_transfer_v1___history", f"{p}authenticate") in labels


def test_dot_node_labels_are_step_ids_with_their_type(compiled: CompiledBot) -> None:
    _, _, _, nodes = _parse_dot(str(render(compiled, "banking_transfer_v1", "dot")))
    label = _label_text(nodes["banking_transfer_v1__get_amount"].get("label"))
    assert label == "get_amount slot_fill: amount"
    assert _label_text(nodes["banking_transfer_v1___error"].get("label")) == "error_handling"


def test_dot_highlights_the_session_state(compiled: CompiledBot) -> None:
    wf = compiled.workflows["banking_transfer_v1"]
    snapshot = {
        "stack": [
            {
                "workflow": wf.id,
                "version": wf.version,
                "configuration": [wf.root, "banking_transfer_v1__get_amount"],
            }
        ]
    }
    _, _, _, nodes = _parse_dot(str(render(compiled, wf.id, "dot", session=snapshot)))
    active = nodes["banking_transfer_v1__get_amount"]
    assert active.get("fillcolor") == "turquoise"
    assert active.get("class") == '"state active"'
    other = nodes["banking_transfer_v1__get_from_account"]
    assert other.get("fillcolor") == "white" and other.get("class") == '"state"'
    assert active_states(snapshot) == {wf.id: {wf.root, "banking_transfer_v1__get_amount"}}


def test_whole_bot_dot_has_one_cluster_per_workflow(compiled: CompiledBot) -> None:
    text = str(render(compiled, None, "dot"))
    # plain text checks: pydot's parser is slow on the whole bot
    clusters = set(re.findall(r"^subgraph cluster_(\w+) \{$", text, re.MULTILINE))
    nodes = set(re.findall(r"^(\w+) \[", text, re.MULTILINE))
    edges = re.findall(r"^(\w+) -> (\w+) ", text, re.MULTILINE)
    for wf in compiled.workflows.values():
        assert f"{wf.root}___workflow" in clusters
        assert wf.root in clusters
        assert all(s.state in nodes or s.state in clusters for s in wf.steps.values())
    total = sum(len(expected_edges(compiled, w)) for w in compiled.workflows)
    assert len([e for e in edges if not e[0].startswith("__initial_")]) == total


def test_the_catch_all_error_transition_is_in_the_class_not_in_the_diagram(
    compiled: CompiledBot,
) -> None:
    wf = compiled.workflows["balance_check"]
    cls = compiled.machine_class(wf.id)
    for state_id in (wf.root, wf.suspended):
        events = [str(e) for t in cls.states_map[state_id].transitions for e in t.events]
        assert ERROR_EVENT in events
    for fmt in ("dot", "mermaid", "md"):
        assert ERROR_EVENT not in str(render(compiled, wf.id, fmt))


# --------------------------------------------------------------------------- mermaid


@pytest.mark.parametrize("workflow_id", _workflows())
def test_mermaid_every_step_and_transition(compiled: CompiledBot, workflow_id: str) -> None:
    wf = compiled.workflows[workflow_id]
    text = str(render(compiled, workflow_id, "mermaid"))
    assert text.startswith("stateDiagram-v2\n")
    lines = [line.strip() for line in text.splitlines()]
    for step in wf.steps.values():
        assert any(
            line.endswith(f" as {step.state}") or line.endswith(f" as {step.state} {{")
            for line in lines
        ), step.id
    for want in expected_edges(compiled, workflow_id):
        label = " ".join([want.event] + ([f"[{', '.join(want.guards)}]"] if want.guards else []))
        line = f"{want.source} --> {want.target}" + (f" : {label}" if label else "")
        assert line in lines, line


def test_mermaid_highlight_and_alias(compiled: CompiledBot) -> None:
    config = ["banking_transfer_v1", "banking_transfer_v1__confirm_transfer"]
    text = str(render(compiled, "banking_transfer_v1", "mmd", session=config))
    assert "banking_transfer_v1__confirm_transfer:::active" in text
    assert "classDef active" in text


def test_whole_bot_mermaid_and_markdown(compiled: CompiledBot) -> None:
    text = str(render(compiled, None, "mermaid"))
    assert text.count("stateDiagram-v2") == 1
    for wf in compiled.workflows.values():
        assert f"as {wf.root}___workflow {{" in text
    md = str(render(compiled, None, "md"))
    assert md.startswith(f"# Workflows ({len(compiled.workflows)})")
    for wf in compiled.workflows.values():
        assert f"## {wf.workflow.name or wf.id} (`{wf.id}`)" in md
    assert md.count("```mermaid") == len(compiled.workflows)
    assert "| State" in md and "current_balance >= variables['amount']" in md


def test_markdown_names_the_current_step(compiled: CompiledBot) -> None:
    md = str(
        render(
            compiled,
            "banking_transfer_v1",
            "markdown",
            session=["banking_transfer_v1__get_to_account"],
        )
    )
    assert md.startswith("# Banking Transfer (`banking_transfer_v1`)")
    assert "Current step: `get_to_account`" in md


# --------------------------------------------------------------------------- images, errors


@needs_graphviz
def test_svg_renders_every_step(compiled: CompiledBot) -> None:
    svg = render(compiled, "banking_transfer_v1", "svg")
    assert isinstance(svg, str) and "<svg" in svg and svg.rstrip().endswith("</svg>")
    for step in compiled.workflows["banking_transfer_v1"].steps.values():
        assert f'<g id="{step.state}" class="node state">' in svg


@needs_graphviz
def test_whole_bot_svg_and_png(compiled: CompiledBot) -> None:
    svg = render(compiled, None, "svg")
    assert isinstance(svg, str) and "<svg" in svg
    png = render(compiled, "banking_transfer_v1", "png")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")


def test_missing_graphviz_says_how_to_install_it(
    compiled: CompiledBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no 'dot' anywhere
    for fmt in ("svg", "png"):
        with pytest.raises(DiagramError) as err:
            render(compiled, "banking_transfer_v1", fmt)
        assert err.value.code == "graphviz_missing"
        assert "apt-get install graphviz" in str(err.value)
        assert "brew install graphviz" in str(err.value)
    for fmt in ("dot", "mermaid", "md"):  # text formats need nothing
        assert render(compiled, "banking_transfer_v1", fmt)


def test_bad_arguments(compiled: CompiledBot) -> None:
    with pytest.raises(UsageError) as err:
        render(compiled, "nope", "dot")
    assert (err.value.code, err.value.status) == ("unknown_workflow", 404)
    with pytest.raises(UsageError) as err:
        render(compiled, "banking_transfer_v1", "gif")
    assert err.value.code == "bad_format"
    with pytest.raises(TypeError):
        render(object(), None, "dot")
    with pytest.raises(TypeError):
        render(compiled, None, "dot", session="banking_transfer_v1__get_amount")


# --------------------------------------------------------------------------- CLI


def test_cli_diagram_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", str(FLOWS), "-w", "banking_transfer_v1", "-f", "mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stateDiagram-v2") and "banking_transfer_v1__get_amount" in out
    assert main(["diagram", str(FLOWS), "-f", "md"]) == 0
    assert "# Workflows" in capsys.readouterr().out


@needs_graphviz
def test_cli_diagram_to_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg, png, dot = tmp_path / "d.svg", tmp_path / "d.png", tmp_path / "d.dot"
    assert main(["diagram", str(FLOWS), "-o", str(svg)]) == 0
    assert "<svg" in svg.read_text()
    assert main(["diagram", str(FLOWS), "-w", "banking_transfer_v1", "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main(["diagram", str(FLOWS), "-f", "dot", "-o", str(dot)]) == 0
    assert dot.read_text().startswith("digraph")
    assert "wrote" in capsys.readouterr().err


def test_cli_diagram_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", str(FLOWS), "-w", "nope", "-f", "dot"]) == 2
    err = capsys.readouterr().err
    assert "unknown workflow 'nope'" in err and "banking_transfer_v1" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow_id: x\nsteps:\n- id: a\n  type: response\n  next_step: ghost\n")
    assert main(["diagram", str(bad), "-f", "dot"]) == 1
    assert "ghost" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["diagram", str(FLOWS), "-f", "gif"])
    assert exit_.value.code == 2
