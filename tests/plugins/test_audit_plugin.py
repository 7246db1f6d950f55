"""statechat-audit, loaded through its entry point, writing JSON lines when its hooks are called."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from statechat.plugins.manager import get_plugin_manager


@dataclass
class Turn:
    """Stands in for a TurnResult: the audit plugin reads ``state`` and ``completed``."""

    state: str | None
    completed: bool
    responses: tuple[str, ...] = ()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STATECHAT_LOAD_PLUGINS", "audit")
    return get_plugin_manager().hook


def test_hooks_write_json_lines(hook: Any, clean_plugin_env: Path) -> None:
    hook.on_transition(
        session_id="s1", workflow_id="banking_transfer_v1", event="ok",
        source="authenticate", target="get_amount", turn=1,
    )  # fmt: skip
    hook.on_turn_end(
        session_id="s1", user_id="alice",
        result=Turn("banking_transfer_v1.get_amount", False, ("How much?",)),
    )  # fmt: skip
    hook.on_error(
        session_id="s1", workflow_id="banking_transfer_v1", step="check_balance",
        error=TimeoutError("GET /accounts/A1/balance timed out after 10s"),
    )  # fmt: skip
    transition, turn_end, error = _lines(clean_plugin_env)
    assert {k: v for k, v in transition.items() if k != "time"} == {
        "type": "transition", "session_id": "s1", "workflow_id": "banking_transfer_v1",
        "event": "ok", "source": "authenticate", "target": "get_amount", "turn": 1,
    }  # fmt: skip
    assert transition["time"].endswith("+00:00")
    assert {k: v for k, v in turn_end.items() if k != "time"} == {
        "type": "turn_end", "session_id": "s1", "user_id": "alice",
        "state": "banking_transfer_v1.get_amount", "completed": False,
    }  # fmt: skip
    assert "How much?" not in json.dumps(turn_end)  # no message text in the trail
    assert {k: v for k, v in error.items() if k != "time"} == {
        "type": "error", "session_id": "s1", "workflow_id": "banking_transfer_v1",
        "step": "check_balance", "error_type": "TimeoutError",
        "error": "GET /accounts/A1/balance timed out after 10s",
    }  # fmt: skip


def test_turn_result_as_a_mapping(hook: Any, clean_plugin_env: Path) -> None:
    hook.on_turn_end(session_id="s", user_id="u", result={"state": None, "completed": True})
    assert _lines(clean_plugin_env)[0]["completed"] is True


def test_appends_across_plugin_managers(hook: Any, clean_plugin_env: Path) -> None:
    hook.on_transition(session_id="a", workflow_id="w", event="e", source="x", target="y", turn=1)
    get_plugin_manager().hook.on_transition(
        session_id="b", workflow_id="w", event="e", source="y", target="z", turn=2
    )
    assert [line["session_id"] for line in _lines(clean_plugin_env)] == ["a", "b"]


def test_concurrent_writers_never_interleave(hook: Any, clean_plugin_env: Path) -> None:
    def work(n: int) -> None:
        for i in range(50):
            hook.on_transition(
                session_id=f"s{n}",
                workflow_id="w" * 200,
                event="e",
                source="a",
                target="b",
                turn=i,
            )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = _lines(clean_plugin_env)
    assert len(lines) == 400
    assert {(line["session_id"], line["turn"]) for line in lines} == {
        (f"s{n}", i) for n in range(8) for i in range(50)
    }


def test_default_path_is_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hook: Any
) -> None:
    monkeypatch.delenv("STATECHAT_AUDIT_LOG")
    monkeypatch.chdir(tmp_path)
    hook.on_error(session_id="s", workflow_id="w", step="x", error=ValueError("boom"))
    assert _lines(tmp_path / "statechat-audit.jsonl")[0]["error_type"] == "ValueError"


def test_write_failures_never_reach_the_bot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hook: Any, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("STATECHAT_AUDIT_LOG", str(tmp_path))  # a directory: cannot be opened
    with caplog.at_level(logging.ERROR, logger="statechat_audit"):
        hook.on_transition(
            session_id="s", workflow_id="w", event="e", source="a", target="b", turn=1
        )

        class Weird:
            @property
            def state(self) -> str:
                raise RuntimeError("no state")

        monkeypatch.setenv("STATECHAT_AUDIT_LOG", str(tmp_path / "ok.jsonl"))
        hook.on_turn_end(session_id="s", user_id="u", result=Weird())
    assert any("cannot write" in r.getMessage() for r in caplog.records)
    assert _lines(tmp_path / "ok.jsonl")[0]["state"] is None
