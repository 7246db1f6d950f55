"""``statechat compile PATH [--python OUT]``: build the StateChart classes; summary or source."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from statechat.compiler.build import python_source
from statechat.compiler.pipeline import compile_path


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser("compile", help="compile workflows into StateChart classes")
    p.add_argument("path", metavar="PATH", help="a bot directory or a workflow file")
    p.add_argument("--python", metavar="OUT", help="write equivalent Python source ('-' for stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compile; print a summary per workflow, or write the Python source."""
    start = time.perf_counter()
    bot = compile_path(args.path)
    elapsed = time.perf_counter() - start
    if args.python:
        source = python_source(list(bot.workflows.values()), bot_path=args.path)
        if args.python == "-":
            sys.stdout.write(source)
        else:
            Path(args.python).write_text(source, encoding="utf-8")
            print(f"wrote {args.python}")
        return 0
    for wf in bot.workflows.values():
        cls = bot.machine_class(wf.id)
        transitions = sum(len(s.transitions) for s in cls.states_map.values())
        print(
            f"{wf.id}: class {cls.__name__}, {len(cls.states_map)} states, "
            f"{transitions} transitions, version {wf.version}"
        )
    for w in bot.warnings:
        print(str(w), file=sys.stderr)
    print(f"compiled {len(bot.workflows)} workflow(s) in {elapsed * 1000:.0f} ms")
    return 0
