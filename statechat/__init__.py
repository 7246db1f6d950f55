"""statechat: conversational workflows compiled into python-statemachine StateCharts.

Public API (re-exports only)::

    from statechat import Bot, NLUResult, CompileError
    bot = Bot.from_path("flows/", store="memory://")
    turn = await bot.handle_message(session_id="s1", user_id="u1", text="transfer 500")
"""

from statechat.compat.engine import OrchestratorEngine, StateManager
from statechat.compiler.schema import BotConfig, StepType, Workflow, WorkflowStep
from statechat.errors import (
    CompileError,
    ConflictError,
    PluginError,
    Problem,
    SourceLocation,
    StatechatError,
    StoreError,
    UsageError,
)
from statechat.machines.context import ExecutionContext
from statechat.nlu import NLUResult
from statechat.plugins.api import AuthResult, IntegrationError, Invalid, StepTypeSpec, Valid
from statechat.plugins.hookspecs import hookimpl
from statechat.runtime.bot import Bot
from statechat.runtime.turn import TurnResult

__all__ = [
    "AuthResult",
    "Bot",
    "BotConfig",
    "CompileError",
    "ConflictError",
    "ExecutionContext",
    "IntegrationError",
    "Invalid",
    "NLUResult",
    "OrchestratorEngine",
    "PluginError",
    "Problem",
    "SourceLocation",
    "StatechatError",
    "StepType",
    "StateManager",
    "StepTypeSpec",
    "StoreError",
    "TurnResult",
    "UsageError",
    "Valid",
    "Workflow",
    "WorkflowStep",
    "hookimpl",
]
