"""``statechat chat PATH``: a conversation with a bot in the terminal (or scripted from stdin)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from statechat.errors import UsageError
from statechat.runtime.bot import Bot
from statechat.runtime.turn import TurnResult
from statechat.stores import DEFAULT_STORE

HISTORY_FILE = Path.home() / ".statechat_history"


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser("chat", help="talk to a bot in the terminal (reads stdin when piped)")
    p.add_argument("path", metavar="PATH", help="a bot directory or a workflow file")
    p.add_argument("--store", default=None, help=f"session store URL (default {DEFAULT_STORE})")
    p.add_argument("--session", default="terminal", help="session id (resumes a saved session)")
    p.add_argument("--user", default=os.environ.get("USER", "user"), help="user id")
    p.add_argument("-v", "--verbose", action="store_true", help="show state and variables")
    p.add_argument("--json", action="store_true", help="print each turn result as JSON")
    p.set_defaults(func=run)


def _show(turn: TurnResult, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(turn.as_dict(), default=str), flush=True)
        return
    for reply in turn.responses:
        print(f"bot> {reply}", flush=True)
    if args.verbose:
        print(f"     [state: {turn.state} | waiting for: {turn.waiting_for}]", flush=True)


def _reader(interactive: bool) -> Any:
    if not interactive:
        return lambda: sys.stdin.readline()
    try:
        import readline

        if HISTORY_FILE.exists():
            readline.read_history_file(HISTORY_FILE)
    except (ImportError, OSError):
        pass

    def read() -> str:
        try:
            return input("you> ") + "\n"
        except EOFError:
            return ""

    return read


async def _chat(args: argparse.Namespace) -> int:
    bot = Bot.from_path(args.path, store=args.store)
    interactive = sys.stdin.isatty() and not args.json
    read = _reader(interactive)
    if interactive:
        flows = ", ".join(sorted(bot.workflows))
        print(f"statechat: chatting with {args.path} ({flows}). Ctrl-D to quit.")
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, read)
            if not line:
                break
            text = line.rstrip("\n")
            if not text.strip():
                continue
            try:
                turn = await bot.handle_message(args.session, args.user, text)
            except UsageError as exc:
                print(f"statechat: {exc}", file=sys.stderr)
                continue
            _show(turn, args)
    finally:
        await bot.close()
        if interactive:
            try:
                import readline

                readline.write_history_file(HISTORY_FILE)
            except (ImportError, OSError):
                pass
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the conversation until end of input."""
    return asyncio.run(_chat(args))
