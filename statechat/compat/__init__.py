"""The seed's API: ``OrchestratorEngine``, ``StateManager``, ``ExecutionContext``, the example."""

from statechat.compat.engine import ExecutionContext, OrchestratorEngine, StateManager
from statechat.compat.seed_workflow import BANKING_TRANSFER_WORKFLOW
from statechat.compiler.schema import StepType, Workflow, WorkflowStep

__all__ = [
    "BANKING_TRANSFER_WORKFLOW",
    "ExecutionContext",
    "OrchestratorEngine",
    "StateManager",
    "StepType",
    "Workflow",
    "WorkflowStep",
]
