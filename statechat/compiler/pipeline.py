"""The compiler's phases end to end: load -> validate -> check -> IR -> StateChart classes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from statemachine import StateChart

from statechat.compiler.build import build_class
from statechat.compiler.checks import CheckContext, check_bot
from statechat.compiler.ir import WorkflowIR, build_ir
from statechat.compiler.loader import (
    BotSource,
    LoadedWorkflow,
    load_bot,
    load_workflow_dict,
)
from statechat.compiler.schema import WAITING_TYPES, BotConfig, Workflow
from statechat.compiler.templates import TemplateEngine
from statechat.errors import CompileError, Problem
from statechat.machines.pool import MachinePool
from statechat.plugins.manager import PluginSet, get_plugin_manager


@dataclass
class CompiledBot:
    """Every workflow of a bot compiled: IR and StateChart class per workflow version."""

    source: BotSource
    plugins: PluginSet
    engine: TemplateEngine
    workflows: dict[str, WorkflowIR] = field(default_factory=dict)
    """The current version of each workflow, by workflow id."""
    classes: dict[tuple[str, str], type[StateChart[Any]]] = field(default_factory=dict)
    """Classes by (workflow id, version hash)."""
    warnings: list[Problem] = field(default_factory=list)
    versions: dict[tuple[str, str], WorkflowIR] = field(default_factory=dict)
    """Every loaded version of every workflow (older ones stay while sessions use them)."""
    pools: dict[tuple[str, str], MachinePool] = field(default_factory=dict)
    """Idle machine instances by (workflow id, version hash)."""

    @property
    def config(self) -> BotConfig:
        """The bot configuration (``statechat.yaml``)."""
        return self.source.config

    def machine_class(self, workflow_id: str, version: str | None = None) -> type[StateChart[Any]]:
        """The class of a workflow (its current version unless ``version`` is given)."""
        wf = self.workflows[workflow_id]
        return self.classes[(workflow_id, version or wf.version)]

    def triggers(self) -> dict[str, str]:
        """``trigger_intent -> workflow_id``."""
        return {
            wf.workflow.trigger_intent: wf_id
            for wf_id, wf in self.workflows.items()
            if wf.workflow.trigger_intent
        }


def make_engine(plugins: PluginSet, source: BotSource) -> TemplateEngine:
    """The bot's sandboxed template engine: plugin filters and the bot's named templates."""
    return TemplateEngine(
        filters=plugins.registry.values("template_filters"),
        named={name: text for name, (text, _loc) in source.templates.items()},
    )


def compile_source(source: BotSource, plugins: PluginSet, *, validate: bool = True) -> CompiledBot:
    """Check and build every workflow of a loaded bot.

    Raises:
        CompileError: every problem of every file, at once.
    """
    engine = make_engine(plugins, source)
    ctx = CheckContext(
        registry=plugins.registry,
        config=source.config,
        templates={n: t for n, (t, _l) in source.templates.items()},
        workflow_ids=frozenset(lw.workflow.workflow_id for lw in source.workflows),
        engine=engine,
    )
    problems = check_bot(source, ctx)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise CompileError(problems)
    bot = CompiledBot(source, plugins, engine, warnings=problems)
    waiting = frozenset(t.value for t in WAITING_TYPES) | frozenset(
        name for name, spec in plugins.registry.values("step_types").items() if spec.waits
    )
    for lw in source.workflows:
        wf = build_ir(lw, engine, waiting)
        bot.workflows[wf.id] = wf
        bot.versions[(wf.id, wf.version)] = wf
        cls = build_class(wf, validate=validate)
        bot.classes[(wf.id, wf.version)] = cls
        bot.pools[(wf.id, wf.version)] = MachinePool(cls)
    return bot


def compile_path(
    path: str | os.PathLike[str],
    plugins: Sequence[Any] = (),
    *,
    plugin_set: PluginSet | None = None,
    env: Mapping[str, str] | None = None,
) -> CompiledBot:
    """Load and compile a bot directory (or one workflow file)."""
    ps = plugin_set or get_plugin_manager(plugins)
    source = load_bot(path, env)
    return compile_source(source, ps)


def source_from_workflows(
    workflows: Iterable[Workflow | Mapping[str, Any] | LoadedWorkflow],
    config: BotConfig | None = None,
    templates: Mapping[str, str] | None = None,
) -> BotSource:
    """A bot made of in-memory workflows (the seed's ``register_workflow`` style)."""
    from statechat.errors import SourceLocation

    source = BotSource(root="<memory>", config=config or BotConfig())
    for i, w in enumerate(workflows):
        if isinstance(w, LoadedWorkflow):
            source.workflows.append(w)
            continue
        data = w.model_dump(exclude_unset=True, mode="json") if isinstance(w, Workflow) else dict(w)
        name = f"<workflow {data.get('workflow_id', i)}>"
        try:
            source.workflows.append(load_workflow_dict(data, name))
        except CompileError as exc:
            source.problems.extend(exc.problems)
    for name, text in (templates or {}).items():
        source.templates[name] = (text, SourceLocation(f"<template {name}>"))
    return source
