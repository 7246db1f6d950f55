"""The seed's API works as the seed wrote it: OrchestratorEngine, StateManager, ExecutionContext."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from statechat import CompileError, ExecutionContext, NLUResult, OrchestratorEngine, Workflow
from statechat.compat import BANKING_TRANSFER_WORKFLOW, StateManager
from tests.runtime.conftest import Bank


def fixed_workflow() -> dict[str, Any]:
    wf = copy.deepcopy(BANKING_TRANSFER_WORKFLOW)
    wf["steps"] += [
        {"id": "invalid_amount", "type": "response", "response_text": "Bad amount."},
        {"id": "invalid_account", "type": "response", "response_text": "Bad account."},
    ]
    return wf


def test_registering_the_verbatim_seed_fails_naming_both_steps() -> None:
    engine = OrchestratorEngine()
    with pytest.raises(CompileError) as err:
        engine.register_workflow(Workflow(**BANKING_TRANSFER_WORKFLOW))
    text = str(err.value)
    assert "invalid_amount" in text and "invalid_account" in text
    assert engine.workflows == {}


async def test_execute_workflow_end_to_end(bank: Bank) -> None:
    engine = OrchestratorEngine()
    seen: list[ExecutionContext] = []

    async def validate_account_access(ctx: ExecutionContext, account_id: str) -> dict[str, Any]:
        seen.append(ctx)
        assert ctx.get_variable("from_account") == account_id
        ctx.set_variable("checked_by", "seed-handler")
        return {"access_validated": True}

    engine.register_workflow(Workflow(**fixed_workflow()))
    engine.register_action_handler("validate_account_access", validate_account_access)
    try:
        out = await engine.execute_workflow(
            "banking_transfer_v1",
            NLUResult(text="transfer 500", intent="transfer_money", entities={"amount": 500}),
            "s1",
            "u1",
            initial_context={"channel": "web"},
        )
        assert out["response"] == "Which account would you like to transfer from?"
        assert out["completed"] is False
        assert out["context"]["channel"] == "web" and out["context"]["amount"] == 500
        for text in ("A1", "A2"):
            out = await engine.execute_workflow(
                "banking_transfer_v1", {"text": text}, "s1", "u1"
            )
        assert out["response"] == "Transfer $500 from A1 to A2? (yes/no)"
        assert out["context"]["checked_by"] == "seed-handler"
        assert seen and seen[0].session_id == "s1" and seen[0].user_id == "u1"
        assert any(h["step"] == "get_to_account" for h in seen[0].step_history)
        out = await engine.execute_workflow("banking_transfer_v1", {"text": "yes"}, "s1", "u1")
        assert out["completed"] is True and out["response"].startswith("Done! $500")
        state = await engine.state_manager.get_state("s1")
        assert state is not None and state["turn"] == 4
    finally:
        await engine.close()
    assert len(await bank.transfers()) == 1


async def test_state_manager_save_and_get() -> None:
    manager = StateManager("memory://")
    assert await manager.get_state("x") is None
    await manager.save_state("x", {"turn": 1, "stack": []})
    await manager.save_state("x", {"turn": 2, "stack": []})
    state = await manager.get_state("x")
    assert state is not None and state["turn"] == 2
