"""statechat-audit: an observer plugin writing an audit trail as JSON lines.

Entry point ``audit = statechat_audit`` in the ``statechat`` group. Each ``on_transition``,
``on_turn_end`` and ``on_error`` call appends one JSON object to the file named by
``STATECHAT_AUDIT_LOG`` (default ``statechat-audit.jsonl`` in the working directory). Writing
never raises into the bot: failures are logged on the ``statechat_audit`` logger.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from statechat.plugins.hookspecs import hookimpl

try:  # POSIX: also serialize writers in other processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_PATH",
    "ENV",
    "audit_path",
    "on_error",
    "on_transition",
    "on_turn_end",
    "write",
]
__version__ = "0.1.0"

ENV = "STATECHAT_AUDIT_LOG"
DEFAULT_PATH = "statechat-audit.jsonl"

logger = logging.getLogger("statechat_audit")
_lock = threading.Lock()


def audit_path() -> str:
    """The audit file: ``$STATECHAT_AUDIT_LOG`` or ``statechat-audit.jsonl``."""
    return os.environ.get(ENV) or DEFAULT_PATH


def write(record: dict[str, Any]) -> bool:
    """Append one record (with ``time``) as a JSON line. Returns whether it was written."""
    try:
        line = json.dumps(
            {"time": datetime.now(UTC).isoformat(), **record}, default=str, ensure_ascii=False
        )
        data = (line + "\n").encode("utf-8")
        path = audit_path()
        with _lock:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, data)
            finally:
                os.close(fd)  # also releases the flock
        return True
    except Exception:
        logger.exception("statechat-audit: cannot write the audit record to %s", audit_path())
        return False


def _field(result: Any, name: str) -> Any:
    if isinstance(result, Mapping):
        return result.get(name)
    return getattr(result, name, None)


@hookimpl
def on_transition(
    session_id: str, workflow_id: str, event: str, source: str, target: str, turn: int
) -> None:
    """Record a transition of a workflow machine."""
    write(
        {
            "type": "transition",
            "session_id": session_id,
            "workflow_id": workflow_id,
            "event": event,
            "source": source,
            "target": target,
            "turn": turn,
        }
    )


@hookimpl
def on_turn_end(session_id: str, user_id: str, result: Any) -> None:
    """Record the end of a turn: the state reached and whether the workflow completed."""
    try:
        state, completed = _field(result, "state"), bool(_field(result, "completed"))
    except Exception:  # a strange result object must not break the bot
        logger.exception("statechat-audit: cannot read the turn result")
        state, completed = None, False
    write(
        {
            "type": "turn_end",
            "session_id": session_id,
            "user_id": user_id,
            "state": state,
            "completed": completed,
        }
    )


@hookimpl
def on_error(session_id: str, workflow_id: str, step: str, error: BaseException) -> None:
    """Record a failed step with the error's type and message."""
    write(
        {
            "type": "error",
            "session_id": session_id,
            "workflow_id": workflow_id,
            "step": step,
            "error_type": type(error).__name__,
            "error": str(error),
        }
    )
