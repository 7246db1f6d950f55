"""Pydantic models of the workflow format: the seed's fields, defaults and documented extensions.

Unknown keys are rejected everywhere (typo safety). Field names and defaults follow the seed's
``Workflow`` / ``WorkflowStep`` / ``StepType``; extensions are marked *extension* below.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StepType(StrEnum):
    """The ten built-in step types (plugins may add more through ``register_step_types``)."""

    AUTH = "auth"
    SLOT_FILL = "slot_fill"
    API_CALL = "api_call"
    CONDITION = "condition"
    RESPONSE = "response"
    CUSTOM_ACTION = "custom_action"
    LOOP = "loop"
    GOTO = "goto"
    WAIT_INPUT = "wait_input"
    WEBHOOK = "webhook"


#: Step types that end the turn and wait for the user (or an external event).
WAITING_TYPES = frozenset({StepType.SLOT_FILL, StepType.WAIT_INPUT, StepType.WEBHOOK})

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WorkflowStep(_Model):
    """One step of a workflow."""

    id: str = Field(min_length=1)
    type: StepType | str
    name: str | None = None

    # auth
    auth_provider: str | None = None

    # slot_fill
    slot: str | None = None
    prompt: str | list[str] | None = None
    validation: dict[str, Any] | None = None
    retry_limit: int = Field(default=3, ge=0)

    # api_call
    integration: str | None = None
    endpoint: str | None = None
    method: HttpMethod = "GET"
    request_body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    response_mapping: dict[str, str] | None = None

    # condition
    condition: str | None = None
    if_true: str | None = None
    if_false: str | None = None

    # response
    template: str | None = None
    response_text: str | None = None

    # custom_action
    action_name: str | None = None
    parameters: dict[str, Any] | None = None

    # loop
    loop_condition: str | None = None
    loop_steps: list[str] | None = None
    max_iterations: int = Field(default=10, ge=1)

    # navigation
    next_step: str | None = None
    on_error: str | None = None

    # metadata
    timeout: float = Field(default=30, gt=0)
    retry_on_failure: bool = False
    critical: bool = True

    # extensions
    event: str | None = None
    """*extension* (webhook): the event name a callback is delivered under (default: the step id)."""
    workflow: str | None = None
    """*extension* (goto): start this workflow as a sub-flow and continue at ``next_step`` when it ends."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """*extension* (api_call): how many retries ``retry_on_failure`` allows (exponential backoff)."""

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return StepType(value)
            except ValueError:
                return value
        return value

    @property
    def type_name(self) -> str:
        """The step type as a plain string (built-in or plugin-defined)."""
        return self.type.value if isinstance(self.type, StepType) else str(self.type)

    @property
    def prompts(self) -> list[str]:
        """``prompt`` as a list (a single prompt is a list of one)."""
        if self.prompt is None:
            return []
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)


class ErrorHandling(_Model):
    """What to do when a step fails and has no ``on_error`` of its own."""

    response_text: str | None = None
    template: str | None = None
    next_step: str | None = None


class Workflow(_Model):
    """A conversational workflow: the seed's fields plus documented extensions."""

    workflow_id: str = Field(min_length=1)
    name: str = ""
    description: str = ""
    trigger_intent: str | None = None
    steps: list[WorkflowStep] = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(default=300, gt=0)
    error_handling: ErrorHandling | None = None

    # extensions
    interruptible: bool = True
    """*extension*: whether a digression may suspend this workflow while it waits."""
    templates: dict[str, str] = Field(default_factory=dict)
    """*extension*: named Jinja2 templates local to this workflow (``template: NAME``)."""

    def step(self, step_id: str) -> WorkflowStep | None:
        """The step with this id, or ``None``."""
        for s in self.steps:
            if s.id == step_id:
                return s
        return None


# --------------------------------------------------------------------------- bot configuration


class IntegrationConfig(_Model):
    """An HTTP integration declared in ``statechat.yaml``."""

    type: Literal["http"] = "http"
    base_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10, gt=0)
    retries: int = Field(default=2, ge=0, le=10)


class IntentConfig(_Model):
    """An intent for the built-in NLU: regex patterns (named groups become entities) and examples."""

    patterns: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)


class Limits(_Model):
    """Safety limits applied to every turn."""

    max_message_chars: int = Field(default=4000, ge=1)
    max_steps_per_turn: int = Field(default=200, ge=1)
    max_history: int = Field(default=200, ge=1)
    max_stack_depth: int = Field(default=8, ge=1)


class WebhookConfig(_Model):
    """Verification of signed webhook callbacks."""

    secret: str | None = None
    tolerance_seconds: int = Field(default=300, ge=1)


class Messages(_Model):
    """System replies of the dialog manager."""

    fallback: str = "Sorry, I didn't understand that. What would you like to do?"
    cancelled: str = "Okay, I've cancelled that."
    expired: str = "Your previous conversation expired after a period of inactivity. Let's start again."
    error: str = "Sorry, something went wrong."
    restarted: str = "This conversation's workflow was updated, so we need to start it again."
    resume: str = "Now, back to where we were."
    waiting: str = "Still waiting for that to complete; I'll let you know."


class BotConfig(_Model):
    """The optional ``statechat.yaml`` of a bot directory."""

    integrations: dict[str, IntegrationConfig] = Field(default_factory=dict)
    intents: dict[str, IntentConfig] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    messages: Messages = Field(default_factory=Messages)
    store: str | None = None
