"""The ``statechat`` command. Exit codes: 0 ok, 1 problems found, 2 usage error.

Each subcommand lives in :mod:`statechat.commands` and exposes ``add_parser(subparsers)``,
which registers its arguments and sets ``func`` (``args -> int``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from statechat.errors import CompileError, StatechatError, UsageError

#: Subcommand modules, in the order ``statechat --help`` lists them.
COMMANDS = ("validate", "compile", "diagram", "chat", "serve", "test", "plugins")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = _Parser(
        prog="statechat",
        description="Compile conversational workflows into state machines and run them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"statechat.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"statechat.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except CompileError as exc:  # every problem, located, one per line
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"statechat {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except StatechatError as exc:
        print(f"statechat: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
