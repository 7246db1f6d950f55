"""``statechat diagram PATH [-w WORKFLOW] [-f svg|png|dot|mermaid|md] [-o OUT]``.

Draws one workflow (``-w``) or every workflow of the bot. Without ``-o`` text formats go to
stdout; ``png`` needs ``-o`` (or ``-o -`` to write the bytes to stdout). The format defaults to
the extension of ``-o`` (``.svg``, ``.png``, ``.dot``/``.gv``, ``.mmd``, ``.md``), else ``svg``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from statechat.compiler.pipeline import compile_path
from statechat.diagrams import FORMATS, DiagramError, render
from statechat.errors import UsageError

_BY_EXTENSION = {
    ".svg": "svg",
    ".png": "png",
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".md": "md",
}


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser("diagram", help="draw workflows as state diagrams")
    p.add_argument("path", metavar="PATH", help="a bot directory or a workflow file")
    p.add_argument("-w", "--workflow", metavar="WORKFLOW", help="only this workflow id")
    p.add_argument(
        "-f",
        "--format",
        choices=(*FORMATS, "mmd", "markdown"),
        help="output format (default: from the -o extension, else svg)",
    )
    p.add_argument("-o", "--output", metavar="OUT", help="output file ('-' or none: stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render and write the diagram; exit 1 on compile problems, 2 on usage errors."""
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lower() if args.output and args.output != "-" else ""
        fmt = _BY_EXTENSION.get(suffix, "svg")
    if fmt == "png" and not args.output and sys.stdout.isatty():
        print("statechat diagram: png is binary; write it with -o FILE.png", file=sys.stderr)
        return 2
    bot = compile_path(args.path)
    try:
        out = render(bot, args.workflow, fmt)
    except UsageError as exc:
        known = ", ".join(bot.workflows) or "none"
        extra = f" (workflows: {known})" if exc.code == "unknown_workflow" else ""
        print(f"statechat diagram: error: {exc}{extra}", file=sys.stderr)
        return 2
    except DiagramError as exc:
        print(f"statechat diagram: error: {exc}", file=sys.stderr)
        return 1
    data = out.encode("utf-8") if isinstance(out, str) else out
    if not args.output or args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    Path(args.output).write_bytes(data)
    what = args.workflow or f"{len(bot.workflows)} workflow(s)"
    print(f"wrote {args.output} ({fmt}, {what})", file=sys.stderr)
    return 0
