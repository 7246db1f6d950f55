"""Every hook statechat calls, documented for plugin authors.

A plugin is any object or module with functions marked ``@statechat.hookimpl``, registered through
the ``statechat`` entry-point group (or passed to ``Bot.from_path(..., plugins=[...])``). An
implementation may accept any subset of a hook's arguments.

Registration hooks are called once when a bot is built; each receives a ``register`` callback and
calls it once per contribution. Names are global: two plugins registering the same name is an error
naming both plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from statechat.plugins.registry import Register

hookspec = pluggy.HookspecMarker("statechat")
hookimpl = pluggy.HookimplMarker("statechat")


# --------------------------------------------------------------------------- registration


@hookspec
def register_actions(register: Register) -> None:
    """Contribute custom actions for ``custom_action`` steps.

    Call ``register(name, handler)`` where ``handler`` is ``async def handler(ctx, **parameters)``
    returning a dict (merged into the session variables) or ``None``. ``ctx`` is an
    :class:`~statechat.machines.context.ExecutionContext`. Raising sends the flow to ``on_error``.
    """


@hookspec
def register_integrations(register: Register) -> None:
    """Contribute named integrations for ``api_call`` steps.

    Call ``register(name, integration)`` with an object offering
    ``async request(method, endpoint, headers=None, json=None) -> dict`` (the seed's call). Raise
    :class:`statechat.IntegrationError` (or any exception) for a failed call. HTTP integrations
    declared in ``statechat.yaml`` are built in and need no plugin.
    """


@hookspec
def register_auth_providers(register: Register) -> None:
    """Contribute auth providers for ``auth`` steps.

    Call ``register(name, provider)`` with an object offering
    ``async verify_user(user_id, provider, ctx)`` that returns ``AuthResult.verified()``,
    ``AuthResult.denied(reason)`` or ``AuthResult.challenge(prompt)``; after a challenge the user's
    answer is passed to ``async answer(ctx, text)``, which returns verified / denied / challenge.
    """


@hookspec
def register_validators(register: Register) -> None:
    """Contribute slot validators (``validation: {type: NAME, ...}``).

    Call ``register(name, validate)`` with ``def validate(value, rule, ctx)`` (or ``async def``)
    returning ``Valid(coerced_value)`` or ``Invalid(reason)``. ``rule`` is the step's
    ``validation`` mapping.
    """


@hookspec
def register_functions(register: Register) -> None:
    """Contribute functions callable from expressions (``condition``, ``loop_condition``).

    Call ``register(name, function)``; functions must be pure and fast.
    """


@hookspec
def register_template_filters(register: Register) -> None:
    """Contribute Jinja2 filters usable in every rendered string: ``register(name, function)``."""


@hookspec
def register_stores(register: Register) -> None:
    """Contribute session stores by URL scheme: ``register(scheme, factory)``.

    ``factory(url: str, **options)`` returns a :class:`statechat.stores.base.Store`.
    """


@hookspec
def register_step_types(register: Register) -> None:
    """Contribute a step type: ``register(name, step_type)``.

    ``step_type`` is a :class:`statechat.plugins.registry.StepTypeSpec`: whether the step waits for
    a message, which step fields it requires, and ``async run(ctx, step, message)`` returning an
    outcome (``"ok"``, ``"error"`` or ``"wait"``).
    """


# --------------------------------------------------------------------------- NLU


@hookspec(firstresult=True)
def parse_message(text: str, context: dict[str, Any]) -> Any:
    """Understand a user message: return an :class:`statechat.NLUResult` or ``None``.

    The first non-``None`` result wins; the built-in NLU (intents of ``statechat.yaml``, numbers,
    money amounts, yes/no, cancel) runs last. ``context`` holds ``session_id``, ``user_id``,
    ``intents`` (the configured intents), ``active_workflow`` and ``waiting_for``. May be async.
    """


# --------------------------------------------------------------------------- observers


@hookspec
def on_turn_start(session_id: str, user_id: str, text: str) -> None:
    """A turn begins (after the session is locked, before the machine runs). May be async."""


@hookspec
def on_transition(
    session_id: str, workflow_id: str, event: str, source: str, target: str, turn: int
) -> None:
    """A transition was taken in a workflow machine (step ids, not state ids). May be async."""


@hookspec
def on_turn_end(session_id: str, user_id: str, result: Any) -> None:
    """A turn ended and its session was saved; ``result`` is the :class:`statechat.TurnResult`."""


@hookspec
def on_error(session_id: str, workflow_id: str, step: str, error: BaseException) -> None:
    """A step failed (the flow follows ``on_error`` / ``error_handling``). May be async."""
