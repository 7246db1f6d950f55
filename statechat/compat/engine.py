"""The seed's API on top of :class:`statechat.Bot`: ``OrchestratorEngine``, ``StateManager``.

Code written against the seed keeps working::

    engine = OrchestratorEngine()
    engine.register_workflow(Workflow(**BANKING_TRANSFER_WORKFLOW))   # CompileError: dangling refs
    engine.register_action_handler("validate_account_access", handler)
    out = await engine.execute_workflow("banking_transfer_v1", nlu_result, "s1", "u1")
    out["response"], out["context"], out["completed"]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from statechat.compiler.pipeline import compile_source, source_from_workflows
from statechat.compiler.schema import BotConfig, Workflow
from statechat.errors import UsageError
from statechat.machines.context import ExecutionContext
from statechat.nlu import NLUResult
from statechat.plugins.hookspecs import hookimpl
from statechat.plugins.manager import get_plugin_manager
from statechat.plugins.registry import Register
from statechat.runtime.bot import Bot
from statechat.stores import Store, open_store

__all__ = ["ExecutionContext", "OrchestratorEngine", "StateManager"]

ActionHandler = Callable[..., Awaitable[Any]]


class StateManager:
    """The seed's session state access (``save_state`` / ``get_state``) over a statechat store."""

    def __init__(self, store: Store | str = "memory://") -> None:
        self._url = store
        self._store: Store | None = store if isinstance(store, Store) else None

    @property
    def store(self) -> Store:
        """The underlying store (opened lazily)."""
        if self._store is None:
            self._store = open_store(self._url, get_plugin_manager().registry)
        return self._store

    async def get_state(self, session_id: str) -> dict[str, Any] | None:
        """The session's snapshot, or ``None``."""
        return await self.store.load(session_id)

    async def save_state(self, session_id: str, state: dict[str, Any]) -> None:
        """Replace the session's snapshot (compare-and-set against what is stored)."""
        current = await self.store.load(session_id)
        await self.store.save(
            session_id,
            state,
            expected_turn=int(current["turn"]) if current is not None else None,
        )


class _Handlers:
    """The engine's registered action handlers as an ordinary plugin."""

    __name__ = "orchestrator_actions"
    statechat_override = True  # register_action_handler replaces a plugin's action of that name

    def __init__(self) -> None:
        self.handlers: dict[str, ActionHandler] = {}

    @hookimpl
    def register_actions(self, register: Register) -> None:
        for name, handler in self.handlers.items():
            register(name, handler)


class OrchestratorEngine:
    """The seed's orchestrator: register workflows and action handlers, execute turns."""

    def __init__(
        self,
        state_manager: StateManager | None = None,
        *,
        config: BotConfig | None = None,
        plugins: tuple[Any, ...] = (),
    ) -> None:
        self.state_manager = state_manager or StateManager()
        self.workflows: dict[str, Workflow] = {}
        self._config = config or BotConfig()
        self._handlers = _Handlers()
        self._plugins = plugins
        self._bot: Bot | None = None

    def _plugin_set(self) -> Any:
        return get_plugin_manager([*self._plugins, self._handlers])

    def register_workflow(self, workflow: Workflow | Mapping[str, Any]) -> None:
        """Add a workflow; it is compiled now, so a broken one raises ``CompileError``."""
        wf = workflow if isinstance(workflow, Workflow) else Workflow.model_validate(workflow)
        candidate = {**self.workflows, wf.workflow_id: wf}
        compile_source(
            source_from_workflows(candidate.values(), self._config), self._plugin_set()
        )
        self.workflows = candidate
        self._bot = None

    def register_action_handler(self, name: str, handler: ActionHandler) -> None:
        """Add an action for ``custom_action`` steps: ``async handler(ctx, **parameters)``."""
        self._handlers.handlers[name] = handler
        self._bot = None

    @property
    def bot(self) -> Bot:
        """The :class:`Bot` serving the registered workflows (rebuilt after registrations)."""
        if self._bot is None:
            compiled = compile_source(
                source_from_workflows(self.workflows.values(), self._config), self._plugin_set()
            )
            self._bot = Bot(compiled, self.state_manager.store)
        return self._bot

    async def execute_workflow(
        self,
        workflow_id: str,
        nlu_result: NLUResult | Mapping[str, Any],
        session_id: str,
        user_id: str,
        initial_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run one turn of ``workflow_id`` for this session.

        Returns:
            ``{"response": str, "context": dict, "completed": bool}`` plus ``"state"`` and
            ``"waiting_for"``.
        """
        if workflow_id not in self.workflows:
            raise UsageError(f"unknown workflow {workflow_id!r}", code="unknown_workflow", status=404)
        nlu = nlu_result if isinstance(nlu_result, NLUResult) else NLUResult(**dict(nlu_result))
        turn = await self.bot.handle_message(
            session_id,
            user_id,
            nlu.text,
            nlu=nlu,
            workflow_id=workflow_id,
            variables=initial_context,
        )
        return {
            "response": turn.response,
            "context": turn.variables,
            "completed": turn.completed,
            "state": turn.state,
            "waiting_for": turn.waiting_for,
        }

    async def close(self) -> None:
        """Close the bot's store and HTTP client session."""
        if self._bot is not None:
            await self._bot.close()
