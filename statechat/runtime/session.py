"""A session between turns (the snapshot) and during a turn (frames with live machines)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from statemachine import StateChart
from statemachine.orderedset import OrderedSet

from statechat.machines.model import Frame, TurnContext
from statechat.machines.pool import MachinePool

#: Version of the snapshot document; bump when its shape changes.
SNAPSHOT_FORMAT = 1


class IncompatibleSnapshot(Exception):
    """A snapshot names states its workflow class does not have (the workflow changed)."""


@dataclass
class FrameSlot:
    """One workflow run on the session's stack: its snapshot, and its machine while live."""

    data: dict[str, Any]
    machine: StateChart[Any] | None = None
    frame: Frame | None = None

    @property
    def workflow_id(self) -> str:
        """The workflow this run executes."""
        return str(self.data["workflow"])

    @property
    def version(self) -> str:
        """Content hash of the workflow version this run started on."""
        return str(self.data["version"])

    def sync(self) -> None:
        """Write the live machine's configuration, history and variables back into ``data``."""
        sm, frame = self.machine, self.frame
        if sm is None or frame is None:
            return
        self.data["configuration"] = list(sm.configuration_values)
        self.data["history"] = {
            h: [s.value for s in states] for h, states in sm.history_values.items()
        }
        self.data["vars"] = frame.vars
        self.data["waiting_for"] = frame.waiting_for
        self.data["ended"] = frame.ended

    def restore(self, pool: MachinePool, rt: TurnContext) -> StateChart[Any]:
        """A machine in this slot's saved configuration (enter actions are not re-run).

        Raises:
            IncompatibleSnapshot: a saved state id does not exist in the pool's class.
        """
        cls = pool.cls
        d = self.data
        config: list[str] = d["configuration"]
        history: dict[str, list[str]] = d.get("history") or {}
        states_map = cls.states_map
        missing = [v for v in config if v not in states_map] + [
            v for vs in history.values() for v in vs if v not in states_map
        ]
        if missing or not config:
            raise IncompatibleSnapshot(f"unknown states {missing}")
        frame = Frame(d["workflow"], d["version"], d.get("vars") or {}, run=d.get("run", ""))
        frame.waiting_for = d.get("waiting_for")
        frame.ended = d.get("ended")
        frame.state = config[0] if len(config) == 1 else OrderedSet(config)
        frame.rt = rt
        sm = pool.acquire(frame)
        rt.borrowed.append((pool, sm))
        sm.history_values.update({h: [states_map[v] for v in vs] for h, vs in history.items()})
        self.machine, self.frame = sm, frame
        return sm


@dataclass
class Session:
    """Everything a session keeps between turns."""

    session_id: str
    user_id: str = ""
    turn: int = 0
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    stack: list[FrameSlot] = field(default_factory=list)
    history: list[list[Any]] = field(default_factory=list)
    """Compact state-history rows (see :data:`statechat.machines.model.HISTORY_FIELDS`)."""
    pending_events: dict[str, Any] = field(default_factory=dict)
    effects: dict[str, Any] = field(default_factory=dict)
    """Side effects completed in the last turn (idempotency key -> mapped result)."""
    epoch: str = field(default_factory=lambda: secrets.token_hex(8))
    """This incarnation of the session id: a conversation started again under the same id (after
    expiry or deletion) gets a new one, so its idempotency keys never repeat the old ones."""
    stored_turn: int | None = None
    """The turn of the snapshot this session was loaded from (compare-and-set)."""

    @property
    def active(self) -> FrameSlot | None:
        """The workflow run on top of the stack."""
        return self.stack[-1] if self.stack else None

    @classmethod
    def from_snapshot(cls, session_id: str, snap: dict[str, Any] | None) -> Session:
        """A session from its stored snapshot (a new one when ``snap`` is ``None``)."""
        if snap is None:
            return cls(session_id)
        return cls(
            session_id=session_id,
            user_id=snap.get("user_id", ""),
            turn=int(snap["turn"]),
            created=float(snap.get("created", time.time())),
            updated=float(snap.get("updated", time.time())),
            stack=[FrameSlot(dict(f)) for f in snap.get("stack", [])],
            history=list(snap.get("history", [])),
            pending_events=dict(snap.get("pending_events", {})),
            effects=dict(snap.get("effects", {})),
            epoch=str(snap.get("epoch", "")),
            stored_turn=int(snap["turn"]),
        )

    def to_snapshot(self) -> dict[str, Any]:
        """The JSON document a store keeps."""
        for slot in self.stack:
            slot.sync()
        return {
            "format": SNAPSHOT_FORMAT,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "turn": self.turn,
            "created": round(self.created, 3),
            "updated": round(self.updated, 3),
            "stack": [s.data for s in self.stack],
            "history": self.history,
            "pending_events": self.pending_events,
            "effects": self.effects,
            "epoch": self.epoch,
        }
