"""`statechat compile --python` emits source whose classes equal the in-memory ones."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from statechat.cli import main
from statechat.compiler.pipeline import compile_path

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def _shape(cls: type) -> tuple[set[str], set[tuple[str, str, str, str]]]:
    states = set(cls.states_map)  # type: ignore[attr-defined]
    transitions = set()
    for state in cls.states_map.values():  # type: ignore[attr-defined]
        for t in state.transitions:
            guards = ",".join(str(c) for c in t.cond.list) if hasattr(t.cond, "list") else str(t.cond)
            target = t.target.id if t.target is not None else "-"
            transitions.add((t.source.id, str(t.event), target, guards))
    return states, transitions


def test_emitted_module_matches(tmp_path: Path, monkeypatch: object) -> None:
    os.environ["STATECHAT_LOAD_PLUGINS"] = "banking"
    try:
        out = tmp_path / "generated_flows.py"
        assert main(["compile", str(FLOWS), "--python", str(out)]) == 0
        text = out.read_text()
        assert "create_machine_class_from_definition(" in text
        assert "eval(" not in text and "exec(" not in text
        spec = importlib.util.spec_from_file_location("generated_flows", out)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["generated_flows"] = module
        spec.loader.exec_module(module)
        bot = compile_path(FLOWS)
        for wf in bot.workflows.values():
            emitted = getattr(module, bot.machine_class(wf.id).__name__)
            assert emitted.workflow_version == wf.version
            assert _shape(emitted) == _shape(bot.machine_class(wf.id))
    finally:
        os.environ.pop("STATECHAT_LOAD_PLUGINS", None)
        sys.modules.pop("generated_flows", None)
