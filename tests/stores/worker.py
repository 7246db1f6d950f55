"""A bot process for the multi-process store tests: JSON commands on stdin, results on stdout.

``python tests/stores/worker.py STORE_URL [FLOWS]`` builds ``Bot.from_path(FLOWS, store=URL)``
(plugins through entry points, so set ``STATECHAT_LOAD_PLUGINS`` / ``CORE_BANKING_URL``), prints
``{"ready": true, "pid": ...}`` and then serves one command per line, concurrently:

- ``{"id": 1, "op": "message", "session": "s1", "user": "u1", "text": "transfer 10"}``
  -> ``{"id": 1, "ok": true, "result": <TurnResult.as_dict()>}``
- ``{"id": 2, "op": "session", "session": "s1"}`` -> ``{"id": 2, "ok": true, "result": <snapshot
  summary from Bot.get_session, or null>}``

A failure answers ``{"id": ..., "ok": false, "error": "<exception class>", "message": "..."}``.
End of input closes the bot and exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from statechat import Bot

FLOWS = Path(__file__).resolve().parents[2] / "flows"


async def _serve(bot: Bot, command: dict[str, Any], out: asyncio.Lock) -> None:
    reply: dict[str, Any] = {"id": command.get("id")}
    try:
        if command["op"] == "message":
            turn = await bot.handle_message(
                command["session"], command.get("user", "u1"), command["text"]
            )
            reply.update(ok=True, result=turn.as_dict())
        elif command["op"] == "session":
            reply.update(ok=True, result=await bot.get_session(command["session"]))
        else:
            raise ValueError(f"unknown op {command['op']!r}")
    except Exception as exc:
        reply.update(ok=False, error=type(exc).__name__, message=str(exc))
    async with out:
        sys.stdout.write(json.dumps(reply, default=str) + "\n")
        sys.stdout.flush()


async def main(argv: list[str]) -> None:
    store = argv[0]
    flows = argv[1] if len(argv) > 1 else str(FLOWS)
    bot = Bot.from_path(flows, store=store)
    await bot.open()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = asyncio.Lock()
    sys.stdout.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    tasks: set[asyncio.Task[None]] = set()
    try:
        while line := await reader.readline():
            if not line.strip():
                continue
            task = asyncio.create_task(_serve(bot, json.loads(line), out))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        await bot.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
