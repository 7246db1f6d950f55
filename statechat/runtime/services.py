"""Bot-wide services the step executors use: plugin contributions, integrations, templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from statechat.compiler.schema import BotConfig
from statechat.compiler.templates import TemplateEngine
from statechat.integrations.http import HttpIntegration
from statechat.machines.context import ExecutionContext
from statechat.plugins.manager import PluginSet

if TYPE_CHECKING:
    import aiohttp

    from statechat.machines.model import Frame, TurnContext


@dataclass
class Services:
    """What a running bot offers its steps, resolved once when the bot is built."""

    plugins: PluginSet
    config: BotConfig
    engine: TemplateEngine
    actions: dict[str, Any] = field(default_factory=dict)
    integrations: dict[str, Any] = field(default_factory=dict)
    auth_providers: dict[str, Any] = field(default_factory=dict)
    validators: dict[str, Any] = field(default_factory=dict)
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    step_types: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, plugins: PluginSet, config: BotConfig, engine: TemplateEngine) -> Services:
        """Collect the registry's contributions and build the configured HTTP integrations."""
        reg = plugins.registry
        integrations = reg.values("integrations")
        for name, ic in config.integrations.items():
            integrations[name] = HttpIntegration(
                name, ic.base_url, headers=ic.headers, timeout=ic.timeout, retries=ic.retries
            )
        return cls(
            plugins=plugins,
            config=config,
            engine=engine,
            actions=reg.values("actions"),
            integrations=integrations,
            auth_providers=reg.values("auth_providers"),
            validators=reg.values("validators"),
            functions=reg.values("functions"),
            step_types=reg.values("step_types"),
        )

    def execution_context(self, frame: Frame, rt: TurnContext) -> ExecutionContext:
        """The seed-shaped context handed to actions, validators and auth providers."""
        return ExecutionContext(
            rt.session_id,
            rt.user_id,
            frame.vars,
            workflow_id=frame.workflow_id,
            integrations=self.integrations,
            turn=rt.turn,
            transitions=rt.transitions,
        )

    def bind_http(self, session: aiohttp.ClientSession) -> None:
        """Give every HTTP integration the bot's shared client session."""
        for integration in self.integrations.values():
            if isinstance(integration, HttpIntegration):
                integration.bind(session)

    async def close(self) -> None:
        """Close client sessions that integrations opened on their own."""
        for integration in self.integrations.values():
            if isinstance(integration, HttpIntegration):
                await integration.close()
