"""``statechat validate PATH...``: every problem of every workflow, located; exit 1 if any."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from statechat.compiler.checks import CheckContext, check_bot
from statechat.compiler.loader import load_bot
from statechat.compiler.pipeline import make_engine
from statechat.errors import Problem
from statechat.plugins.manager import PluginSet, get_plugin_manager


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser("validate", help="check workflows and report every problem with its location")
    p.add_argument("paths", nargs="+", metavar="PATH", help="bot directories or workflow files")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--strict", action="store_true", help="treat warnings as problems (exit 1)")
    p.set_defaults(func=run)


def validate_path(path: str, plugins: PluginSet) -> tuple[int, list[Problem]]:
    """Load and check one bot path: (number of workflows, problems)."""
    source = load_bot(path)
    ctx = CheckContext(
        registry=plugins.registry,
        config=source.config,
        templates={n: t for n, (t, _l) in source.templates.items()},
        workflow_ids=frozenset(lw.workflow.workflow_id for lw in source.workflows),
        engine=make_engine(plugins, source),
    )
    return len(source.workflows), check_bot(source, ctx)


def run(args: argparse.Namespace) -> int:
    """Validate and print; exit code 1 if any error (or warning with --strict)."""
    plugins = get_plugin_manager()
    results: list[dict[str, Any]] = []
    failed = False
    for path in args.paths:
        count, problems = validate_path(path, plugins)
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity == "warning"]
        failed = failed or bool(errors) or (args.strict and bool(warnings))
        results.append(
            {
                "path": path,
                "workflows": count,
                "errors": len(errors),
                "warnings": len(warnings),
                "problems": [p.as_dict() for p in problems],
            }
        )
        if args.format == "text":
            for p in problems:
                print(str(p), file=sys.stdout if p.severity == "error" else sys.stderr)
            status = "invalid" if errors else "ok"
            print(
                f"{path}: {status}: {count} workflow(s), {len(errors)} error(s), "
                f"{len(warnings)} warning(s)"
            )
    if args.format == "json":
        print(json.dumps({"ok": not failed, "results": results}, indent=2))
    return 1 if failed else 0
