"""``statechat plugins``: every plugin found, its version and what it contributes."""

from __future__ import annotations

import argparse
import json
from typing import Any

from statechat.plugins.manager import get_plugin_manager


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser("plugins", help="list the plugins found and what they contribute")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--all", action="store_true", help="include the built-in plugins")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the plugin list."""
    infos = [i for i in get_plugin_manager().info() if args.all or not i.builtin]
    if args.json:
        print(json.dumps([i.as_dict() for i in infos], indent=2))
        return 0
    if not infos:
        print("no plugins installed (use --all to list the built-in ones)")
    for info in infos:
        dist = f"{info.distribution} {info.version}" if info.distribution else "(not installed)"
        print(f"{info.name}  [{dist}]{'  built-in' if info.builtin else ''}")
        for kind, names in sorted(info.contributes.items()):
            print(f"    {kind}: {', '.join(sorted(names))}")
        observers = [h for h in info.hooks if not h.startswith("register_")]
        if observers:
            print(f"    hooks: {', '.join(observers)}")
    return 0
