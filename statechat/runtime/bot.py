"""The turn loop and dialog management: load session -> run the active machine -> save -> replies.

One turn = one user message (or one webhook event). Only the active workflow's machine runs;
suspended workflows wait on the session's stack as snapshots. Dialog rules (DESIGN.md section 3):
a trigger intent starts its workflow; while a workflow waits, another workflow's trigger suspends
it (digression) and it resumes through its history state when the other one ends; ``cancel`` ends
the active workflow; with nothing active and no trigger, the fallback reply; a workflow idle past its
``timeout`` expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

import aiohttp
from statemachine import StateChart

from statechat.compiler.ir import WorkflowIR
from statechat.compiler.loader import load_bot
from statechat.compiler.pipeline import CompiledBot, compile_source, source_from_workflows
from statechat.compiler.schema import BotConfig, Workflow
from statechat.errors import CompileError, StatechatError, StepError, StoreError, UsageError
from statechat.machines.model import (
    Frame,
    TurnAborted,
    TurnContext,
    TurnLimitExceeded,
    history_dicts,
)
from statechat.machines.steps import RESUME, maybe_await
from statechat.nlu import NLUResult
from statechat.plugins.manager import DEFAULT_PLUGINS, PluginSet, get_plugin_manager
from statechat.runtime.services import Services
from statechat.runtime.session import FrameSlot, IncompatibleSnapshot, Session
from statechat.runtime.turn import TurnResult
from statechat.stores import DEFAULT_STORE, Store, open_store
from statechat.stores.base import UNCHANGED

log = logging.getLogger("statechat")

MAX_ID_CHARS = 200
#: Sessions kept decoded in memory between their turns (least recently used dropped first).
SESSION_CACHE_SIZE = 10_000
CANCEL_INTENT = "cancel"


class Bot:
    """A compiled bot with a session store: the Python API of DESIGN.md section 6."""

    def __init__(self, compiled: CompiledBot, store: Store | str = "memory://") -> None:
        self.compiled = compiled
        self.config: BotConfig = compiled.config
        self.plugins: PluginSet = compiled.plugins
        self.services = Services.create(self.plugins, self.config, compiled.engine)
        self.store: Store = open_store(store, self.plugins.registry)
        self._triggers = compiled.triggers()
        hook = self.plugins.hook
        impls = hook.parse_message.get_hookimpls()
        # with only the built-in NLU there is nothing to dispatch: call it directly
        self._parse_message: Callable[..., Any] = (
            impls[0].function
            if len(impls) == 1 and impls[0].plugin_name in DEFAULT_PLUGINS
            else hook.parse_message
        )
        self._observed = frozenset(
            name
            for name in ("on_turn_start", "on_transition", "on_turn_end", "on_error")
            if getattr(hook, name).get_hookimpls()
        )
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None
        self._origin: tuple[str | os.PathLike[str], Mapping[str, str] | None] | None = None
        self._sessions: dict[str, Session] = {}
        """Sessions as this process last saved them (checked against the store every turn)."""

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        store: Store | str | None = None,
        plugins: Sequence[Any] = (),
        env: Mapping[str, str] | None = None,
    ) -> Bot:
        """Compile a bot directory (or one workflow file).

        ``store`` defaults to ``statechat.yaml``'s ``store:`` or the embedded SQLite store.

        Raises:
            CompileError: every problem of every workflow, located.
        """
        ps = get_plugin_manager(plugins)
        source = load_bot(path, env)
        compiled = compile_source(source, ps)
        bot = cls(compiled, store or compiled.config.store or DEFAULT_STORE)
        bot._origin = (path, env)
        return bot

    def reload(self) -> list[str]:
        """Recompile the workflows from the bot's path while it keeps serving.

        New conversations take the new versions; sessions in flight finish on the version they
        started with (the classes of older versions are kept). Configuration changes
        (``statechat.yaml``) need a restart.

        Returns:
            Ids of the workflows whose version changed (or that are new).

        Raises:
            CompileError: the changed files do not compile; the running versions stay in place.
            UsageError: the bot was not made by :meth:`from_path`.
        """
        if self._origin is None:
            raise UsageError("only a bot made by Bot.from_path() can reload", code="no_path")
        path, env = self._origin
        source = load_bot(path, env)
        source.config = self.config
        new = compile_source(source, self.plugins)
        old = self.compiled
        changed = [
            wf_id
            for wf_id, wf in new.workflows.items()
            if wf_id not in old.workflows or old.workflows[wf_id].version != wf.version
        ]
        for key, cls in old.classes.items():
            new.classes.setdefault(key, cls)
            new.pools.setdefault(key, old.pools[key])
            new.versions.setdefault(key, old.versions[key])
        self.compiled = new
        self._triggers = new.triggers()
        return changed

    @classmethod
    def from_workflows(
        cls,
        workflows: Sequence[Workflow | Mapping[str, Any]],
        *,
        config: BotConfig | None = None,
        store: Store | str = "memory://",
        plugins: Sequence[Any] = (),
        entry_points: bool = True,
    ) -> Bot:
        """A bot from in-memory workflows (models or dicts)."""
        ps = get_plugin_manager(plugins, entry_points=entry_points)
        compiled = compile_source(source_from_workflows(workflows, config), ps)
        return cls(compiled, store)

    def machine_class(self, workflow_id: str) -> type[StateChart[Any]]:
        """The compiled StateChart class of a workflow (its current version)."""
        return self.compiled.machine_class(workflow_id)

    @property
    def workflows(self) -> dict[str, WorkflowIR]:
        """The compiled workflows by id."""
        return self.compiled.workflows

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Open the store and the shared HTTP client session (done on first use too)."""
        async with self._open_lock:
            if self._opened:
                return
            await self.store.open()
            self._http = aiohttp.ClientSession()
            self.services.bind_http(self._http)
            self._opened = True

    async def close(self) -> None:
        """Close the store and the HTTP client session."""
        async with self._open_lock:
            if not self._opened:
                return
            self._opened = False
            await self.store.close()
            if self._http is not None:
                await self._http.close()
                self._http = None
            await self.services.close()

    async def __aenter__(self) -> Bot:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ turns

    async def handle_message(
        self,
        session_id: str,
        user_id: str = "",
        text: str | None = None,
        *,
        nlu: NLUResult | None = None,
        intent: str | None = None,
        entities: Mapping[str, Any] | None = None,
        workflow_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> TurnResult:
        """Run one turn for a user message.

        ``nlu`` skips the NLU plugins; ``intent``/``entities`` fill or override what NLU found;
        ``workflow_id`` starts that workflow when nothing is active (the seed's execute call);
        ``variables`` are merged into the variables of a workflow this turn starts.

        Raises:
            UsageError: bad arguments (empty ids, text over ``limits.max_message_chars``,
                unknown ``workflow_id``).
            StoreError: the session store is unavailable (nothing was changed).
        """
        _check_id("session_id", session_id)
        if not isinstance(user_id, str) or len(user_id) > MAX_ID_CHARS:
            raise UsageError("user_id must be a string of at most 200 characters", code="bad_user_id")
        if text is None:
            text = nlu.text if nlu is not None else ""
        if not isinstance(text, str):
            raise UsageError("text must be a string", code="bad_text")
        limit = self.config.limits.max_message_chars
        if len(text) > limit:
            raise UsageError(
                f"message is {len(text)} characters long; the limit is {limit}",
                code="message_too_long",
                status=413,
            )
        if workflow_id is not None and workflow_id not in self.compiled.workflows:
            raise UsageError(f"unknown workflow {workflow_id!r}", code="unknown_workflow", status=404)
        if not self._opened:
            await self.open()
        async with self.store.lock(session_id):
            session = await self._load(session_id, user_id)
            rt = self._turn_context(session, user_id)
            await self._notify("on_turn_start", session_id=session_id, user_id=user_id, text=text)
            self._expire(session, rt)
            if nlu is None:
                nlu = await self._understand(text, session, rt)
            if intent is not None or entities:
                nlu = NLUResult(
                    text=nlu.text or text,
                    intent=intent if intent is not None else nlu.intent,
                    entities={**nlu.entities, **dict(entities or {})},
                    confidence=1.0 if intent is not None else nlu.confidence,
                )
            rt.message = nlu
            rt.initial = dict(variables or {})
            try:
                result = await self._run_turn(session, rt, workflow_id)
                await self._save(session, rt)
            finally:
                _give_back(session, rt)
        await self._after_turn(session, rt, result)
        return result

    async def deliver_event(
        self, session_id: str, name: str, payload: Any = None, *, user_id: str | None = None
    ) -> TurnResult:
        """Deliver an external event (a webhook callback) to a session.

        If the active workflow waits for ``name`` it continues now (the result carries the replies);
        otherwise the payload is kept and a webhook step waiting for ``name`` later takes it.

        Raises:
            UsageError: unknown session or bad name.
        """
        _check_id("session_id", session_id)
        _check_id("event name", name)
        if not self._opened:
            await self.open()
        async with self.store.lock(session_id):
            snap = await self._load_snapshot(session_id)
            # turn 0: stored before its first turn ended (see _store_birth), not a conversation
            # yet; taking an event now would move the retried first turn (and its keys) along
            if snap is None or not snap.get("turn"):
                raise UsageError(f"unknown session {session_id!r}", code="unknown_session", status=404)
            session = Session.from_snapshot(session_id, snap)
            rt = self._turn_context(session, user_id or session.user_id)
            rt.message = NLUResult(text="", intent=None)
            rt.payload = payload
            try:
                result = await self._run_event(session, rt, name, payload)
                await self._save(session, rt)
            finally:
                _give_back(session, rt)
        await self._after_turn(session, rt, result)
        return result

    async def _run_event(
        self, session: Session, rt: TurnContext, name: str, payload: Any
    ) -> TurnResult:
        slot = session.active

        async def deliver() -> bool:
            if slot is not None and slot.data.get("waiting_for") == f"event:{name}":
                await self._send(session, slot, rt, "webhook")
                return await self._settle(session, rt)
            rt.pending_events[name] = payload
            return False

        completed = await self._guarded(session, rt, deliver)
        return self._result(session, rt, completed=completed)

    async def _guarded(
        self, session: Session, rt: TurnContext, work: Callable[[], Awaitable[bool]]
    ) -> bool:
        """Run the turn's machine work; a spinning flow or a bug ends the workflow, not the turn.

        The workflow a failed one interrupted (a digression) resumes; if that fails too, it ends
        as well. Returns whether a workflow ended. Store errors and usage errors propagate
        (nothing saved).
        """

        async def resume() -> bool:
            await self._resume_below(session, rt)
            return await self._settle(session, rt)

        step: Callable[[], Awaitable[bool]] = work
        aborted = False
        for _ in range(len(session.stack) + 1):  # every failure removes one run
            try:
                try:
                    return await step() or aborted
                except TurnAborted as signal:  # raised out of a machine callback
                    raise signal.error from None
            except StatechatError as exc:
                if not isinstance(exc, TurnLimitExceeded | StepError):
                    raise
                self._abort(session, rt, exc)
            except Exception as exc:  # a bug in plugin or library code
                self._abort(session, rt, exc)
            aborted = True
            rt.steps_taken = 0  # the interrupted workflow gets a budget of its own
            step = resume
        return aborted

    async def get_session(self, session_id: str) -> dict[str, Any] | None:
        """The stored snapshot of a session plus its current state, or ``None``."""
        _check_id("session_id", session_id)
        await self.open()
        snap = await self._load_snapshot(session_id)
        if snap is None:
            return None
        session = Session.from_snapshot(session_id, snap)
        top = session.active
        state = waiting = None
        if top is not None:
            state = self._state_name(top)
            waiting = top.data.get("waiting_for")
        return {
            "session_id": session_id,
            "user_id": session.user_id,
            "turn": session.turn,
            "state": state,
            "waiting_for": waiting,
            "workflow_id": top.workflow_id if top else None,
            "stack": [s.workflow_id for s in session.stack],
            "variables": _public(top.data.get("vars", {})) if top else {},
            "history": history_dicts(session.history),
            "updated": session.updated,
        }

    # ------------------------------------------------------------------ internals

    def _turn_context(self, session: Session, user_id: str) -> TurnContext:
        rt = TurnContext(
            services=self.services,
            session_id=session.session_id,
            user_id=user_id or session.user_id,
            turn=session.turn + 1,
            epoch=session.epoch,
            pending_events=session.pending_events,
        )
        if session.stored_turn is None:

            async def store_birth() -> None:
                await self._store_birth(session)
                rt.before_side_effect = None

            rt.before_side_effect = store_birth
        return rt

    async def _store_birth(self, session: Session) -> None:
        """Store a new session as it was before its first turn (turn 0, its epoch, no workflow).

        Called before the first side effect of a session's first turn: if the process dies before
        the turn is saved, the retried turn loads this epoch and sends the same idempotency keys.
        """
        birth = Session(
            session.session_id,
            user_id=session.user_id,
            created=session.created,
            updated=session.created,
            epoch=session.epoch,
        )
        await self._write(birth, expected_turn=None, ttl=self._ttl(birth))
        session.stored_turn = 0

    async def _load_snapshot(self, session_id: str) -> dict[str, Any] | None:
        with _store_errors():
            return await self.store.load(session_id)

    async def _load(self, session_id: str, user_id: str) -> Session:
        """The session, from this process's cache when the store is still at the cached turn.

        The cached object is taken out for the turn and put back only after a successful save,
        so a failed turn can never leave a half-updated session behind.
        """
        cached = self._sessions.pop(session_id, None)
        with _store_errors():
            if cached is not None:
                snap = await self.store.load_if_changed(session_id, cached.turn)
            else:
                snap = await self.store.load(session_id)
        session = cached if snap is UNCHANGED and cached is not None else None
        if session is None:
            session = Session.from_snapshot(session_id, snap)
        if user_id:
            session.user_id = user_id
        return session

    def _remember(self, session: Session) -> None:
        self._sessions[session.session_id] = session
        if len(self._sessions) > SESSION_CACHE_SIZE:
            self._sessions.pop(next(iter(self._sessions)))

    async def _save(self, session: Session, rt: TurnContext) -> None:
        session.turn = rt.turn
        session.updated = rt.now
        # keys contain the turn: older turns' effects can never match again, so keep this turn's
        session.effects = rt.effects
        limit = self.config.limits.max_history
        session.history.extend(t.row(rt.turn) for t in rt.transitions)
        if len(session.history) > limit:
            del session.history[: len(session.history) - limit]
        await self._write(session, expected_turn=session.stored_turn, ttl=self._ttl(session))
        session.stored_turn = session.turn
        self._remember(session)

    async def _write(self, session: Session, *, expected_turn: int | None, ttl: float) -> None:
        with _store_errors():
            await self.store.save(
                session.session_id, session.to_snapshot(), expected_turn=expected_turn, ttl=ttl
            )

    def _ttl(self, session: Session) -> float:
        timeouts = [
            self.compiled.workflows[s.workflow_id].workflow.timeout
            for s in session.stack
            if s.workflow_id in self.compiled.workflows
        ]
        # an idle session (nothing active) is kept for a day so that its history stays readable;
        # an active one a day past its workflow's timeout, so that the next message is told that
        # the workflow expired (and the turn count goes on)
        return max(timeouts) + 86400.0 if timeouts else 86400.0

    def _expire(self, session: Session, rt: TurnContext) -> None:
        top = session.active
        if top is None or top.workflow_id not in self.compiled.workflows:
            return
        timeout = self.compiled.workflows[top.workflow_id].workflow.timeout
        if rt.now - session.updated > timeout:
            session.stack.clear()
            rt.replies.append(self.config.messages.expired)
            rt.transitions.clear()

    async def _understand(self, text: str, session: Session, rt: TurnContext) -> NLUResult:
        top = session.active
        context = {
            "session_id": session.session_id,
            "user_id": rt.user_id,
            "intents": self.config.intents,
            "active_workflow": top.workflow_id if top else None,
            "waiting_for": top.data.get("waiting_for") if top else None,
        }
        try:
            result = await maybe_await(self._parse_message(text=text, context=context))
        except Exception as exc:
            log.exception("NLU plugin failed; treating the message as plain text")
            rt.errors.append(("", "nlu", exc))
            result = None
        if not isinstance(result, NLUResult):
            if result is not None:
                log.error("parse_message returned %r, not an NLUResult; ignoring it", result)
            return NLUResult(text=text)
        if not result.text:
            result.text = text
        return result

    async def _run_turn(
        self, session: Session, rt: TurnContext, workflow_id: str | None
    ) -> TurnResult:
        message = rt.message
        top = session.active
        active_before = top.workflow_id if top else None
        target = workflow_id or self._triggers.get(message.intent or "")

        async def run() -> bool:
            completed = False
            if message.intent == CANCEL_INTENT and top is not None:
                self._drop_top(session, rt)
                rt.replies.append(self.config.messages.cancelled)
                completed = True
                await self._resume_below(session, rt)
            elif top is None:
                if target is not None:
                    await self._start(session, rt, target)
                else:
                    rt.replies.append(self.config.messages.fallback)
            elif (
                target is not None
                and target != top.workflow_id
                and self._can_digress(session, top)
            ):
                await self._suspend(session, top, rt)
                await self._start(session, rt, target)
            else:
                await self._deliver(session, top, rt)
            return await self._settle(session, rt) or completed

        completed = await self._guarded(session, rt, run)
        if active_before is not None and not any(
            s.workflow_id == active_before for s in session.stack
        ):
            completed = True
        return self._result(session, rt, completed=completed)

    def _can_digress(self, session: Session, top: FrameSlot) -> bool:
        wf = self.compiled.workflows.get(top.workflow_id)
        return (
            wf is not None
            and wf.workflow.interruptible
            and bool(top.data.get("waiting_for"))
            and len(session.stack) < self.config.limits.max_stack_depth
        )

    def _abort(self, session: Session, rt: TurnContext, exc: BaseException) -> None:
        top = session.active
        log.error(
            "turn aborted in session %s: %s",
            session.session_id,
            exc,
            exc_info=not isinstance(exc, TurnLimitExceeded),
        )
        rt.errors.append((top.workflow_id if top else "", "", exc))
        if top is not None:
            session.stack.pop()
        rt.replies.append(self.config.messages.error)

    async def _start(self, session: Session, rt: TurnContext, workflow_id: str) -> None:
        wf = self.compiled.workflows[workflow_id]
        variables = dict(wf.workflow.variables)
        variables.update(rt.initial)
        variables.update({k: v for k, v in rt.message.entities.items() if k in wf.slots})
        frame = Frame(wf.id, wf.version, variables, run=f"{session.session_id}:{rt.turn}")
        frame.rt = rt
        pool = self.compiled.pools[(wf.id, wf.version)]
        sm = pool.acquire(frame)
        rt.borrowed.append((pool, sm))
        slot = FrameSlot(
            {"workflow": wf.id, "version": wf.version, "run": frame.run, "started": rt.now},
            sm,
            frame,
        )
        session.stack.append(slot)
        await sm.activate_initial_state()

    async def _machine(
        self, session: Session, slot: FrameSlot, rt: TurnContext
    ) -> StateChart[Any] | None:
        """The live machine of a stack slot, restored from its snapshot if needed.

        A slot whose workflow version is gone moves to the current version if all its states
        exist there; otherwise the workflow restarts with a clear message (``None`` returned).
        """
        if slot.machine is not None:
            assert slot.frame is not None
            slot.frame.rt = rt
            return slot.machine
        wf = self.compiled.workflows.get(slot.workflow_id)
        pool = self.compiled.pools.get((slot.workflow_id, slot.version))
        if pool is None and wf is not None:
            pool = self.compiled.pools[(wf.id, wf.version)]
            slot.data["version"] = wf.version
        if pool is not None:
            try:
                return slot.restore(pool, rt)
            except IncompatibleSnapshot:
                pass
        session.stack.remove(slot)
        rt.replies.append(self.config.messages.restarted)
        if wf is not None:
            await self._start(session, rt, wf.id)
        return None

    async def _send(self, session: Session, slot: FrameSlot, rt: TurnContext, event: str) -> None:
        sm = await self._machine(session, slot, rt)
        if sm is not None:
            await sm.send(event)

    async def _deliver(self, session: Session, top: FrameSlot, rt: TurnContext) -> None:
        waiting = top.data.get("waiting_for") if top.machine is None else (
            top.frame.waiting_for if top.frame else None
        )
        if isinstance(waiting, str) and waiting.startswith("event:"):
            deadline = (top.data.get("vars") or {}).get("_deadlines", {})
            step = self._state_name(top)
            step_id = step.split(".", 1)[1] if step else ""
            if deadline.get(step_id, float("inf")) < rt.now:
                await self._send(session, top, rt, "timeout")
            else:
                rt.replies.append(self.config.messages.waiting)
            return
        await self._send(session, top, rt, "message")

    async def _suspend(self, session: Session, slot: FrameSlot, rt: TurnContext) -> None:
        await self._send(session, slot, rt, "suspend")
        slot.sync()

    async def _resume_below(self, session: Session, rt: TurnContext) -> None:
        top = session.active
        if top is None:
            return
        sm = await self._machine(session, top, rt)
        if sm is None:
            return
        config = set(sm.configuration_values)
        wf = self.compiled.workflows[top.workflow_id]
        if wf.suspended in config:
            if self.config.messages.resume:
                rt.replies.append(self.config.messages.resume)
            await sm.send(RESUME)
        elif top.frame is not None and (top.frame.waiting_for or "").startswith("workflow:"):
            top.frame.waiting_for = None
            await sm.send("returned")

    def _drop_top(self, session: Session, rt: TurnContext) -> None:
        session.stack.pop()

    async def _settle(self, session: Session, rt: TurnContext) -> bool:
        """After a machine ran: pop ended runs, resume what they interrupted, start sub-flows."""
        completed = False
        for _ in range(self.config.limits.max_steps_per_turn):
            top = session.active
            if top is None:
                break
            if rt.subflow is not None:
                name, rt.subflow = rt.subflow, None
                if len(session.stack) >= self.config.limits.max_stack_depth:
                    raise TurnLimitExceeded(f"workflows nested deeper than the stack limit ({name})")
                await self._start(session, rt, name)
                continue
            frame = top.frame
            ended = frame.ended if frame is not None else top.data.get("ended")
            if ended is None:
                break
            session.stack.pop()
            rt.last_vars = frame.vars if frame is not None else {}
            completed = True
            await self._resume_below(session, rt)
        return completed

    def _state_name(self, slot: FrameSlot) -> str | None:
        wf = self.compiled.versions.get(
            (slot.workflow_id, slot.version)
        ) or self.compiled.workflows.get(slot.workflow_id)
        if slot.machine is not None:
            config = list(slot.machine.configuration_values)
        else:
            config = list(slot.data.get("configuration") or [])
        if not config:
            return None
        leaf = config[-1]
        step = wf.state_to_step.get(leaf) if wf is not None else None
        if step is None and wf is not None:
            if leaf == wf.suspended:
                step = "suspended"
            elif leaf.endswith("___check"):
                step = wf.state_to_step.get(leaf[: -len("___check")], leaf)
            else:
                step = leaf.rsplit("__", 1)[-1].lstrip("_")
        return f"{slot.workflow_id}.{step}"

    def _result(self, session: Session, rt: TurnContext, *, completed: bool) -> TurnResult:
        top = session.active
        if top is not None:
            variables = top.frame.vars if top.frame is not None else top.data.get("vars", {})
            waiting = top.frame.waiting_for if top.frame is not None else top.data.get("waiting_for")
        else:
            variables = rt.last_vars
            waiting = None
        if isinstance(waiting, str) and ":" in waiting and waiting.split(":", 1)[0] in (
            "event",
            "workflow",
        ):
            waiting_for: str | None = waiting
        else:
            waiting_for = waiting
        return TurnResult(
            session_id=session.session_id,
            responses=list(rt.replies),
            state=self._state_name(top) if top is not None else None,
            waiting_for=waiting_for,
            completed=completed,
            variables=_public(variables or {}),
            workflow_id=top.workflow_id if top is not None else None,
            turn=rt.turn,
            intent=rt.message.intent,
        )

    async def _after_turn(self, session: Session, rt: TurnContext, result: TurnResult) -> None:
        for t in rt.transitions:
            await self._notify(
                "on_transition",
                session_id=session.session_id,
                workflow_id=t.workflow,
                event=t.event,
                source=t.source or "",
                target=t.step,
                turn=rt.turn,
            )
        for workflow_id, step, error in rt.errors:
            await self._notify(
                "on_error",
                session_id=session.session_id,
                workflow_id=workflow_id,
                step=step,
                error=error,
            )
        await self._notify(
            "on_turn_end", session_id=session.session_id, user_id=rt.user_id, result=result
        )

    async def _notify(self, hook: str, **kwargs: Any) -> None:
        if hook not in self._observed:
            return
        caller = getattr(self.plugins.hook, hook)
        try:
            for value in caller(**kwargs):
                await maybe_await(value)
        except Exception:
            log.exception("observer hook %s failed", hook)


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """Any failure of the store's own code surfaces as :class:`StoreError` (HTTP 503)."""
    try:
        yield
    except StatechatError:
        raise
    except Exception as exc:
        raise StoreError(f"session store unavailable: {type(exc).__name__}: {exc}") from exc


def _give_back(session: Session, rt: TurnContext) -> None:
    """End of turn: snapshots hold the truth again; machines go back to their pools."""
    for slot in session.stack:  # saved snapshots were synced by to_snapshot()
        slot.machine = slot.frame = None
    for pool, sm in rt.borrowed:
        pool.release(sm)
    rt.borrowed.clear()


def _check_id(what: str, value: Any) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise UsageError(
            f"{what} must be a non-empty string of at most {MAX_ID_CHARS} characters",
            code="bad_" + what.replace(" ", "_"),
        )


def _public(variables: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in variables.items() if not k.startswith("_")}


__all__ = ["Bot", "CompileError"]
