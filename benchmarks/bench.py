"""``make bench``: statechat against the hand-written python-statemachine floor, in one run.

Prints turns/second of the scripted banking conversation through ``Bot`` (memory store,
in-process integrations, built-in NLU and templates) and through ``benchmarks/handwritten.py``,
the time ratio statechat / hand-written, compile times for generated workflows, and the snapshot
size after turn 3. Further sections (stores, HTTP) run when their modules are present.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("STATECHAT_LOAD_PLUGINS", "")  # built-ins + the in-process plugin only

from benchmarks.handwritten import HandwrittenBot  # noqa: E402
from benchmarks.inprocess import FINAL, SCRIPT, InProcessBankingPlugin, drive  # noqa: E402
from statechat import Bot  # noqa: E402
from statechat.compiler.pipeline import compile_source, source_from_workflows  # noqa: E402
from statechat.plugins.manager import get_plugin_manager  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


async def _statechat(conversations: int) -> tuple[float, Bot]:
    bot = Bot.from_path(ROOT / "flows" / "banking_transfer.yaml", store="memory://",
                        plugins=[InProcessBankingPlugin()])
    await bot.open()
    elapsed, turn = await drive(bot, conversations)
    assert turn.responses and turn.responses[0].startswith(FINAL), turn.responses
    return elapsed, bot


async def _handwritten(conversations: int) -> float:
    elapsed, replies = await drive(HandwrittenBot(), conversations)
    assert replies and replies[0].startswith("Done!"), replies
    return elapsed


async def turns(conversations: int, rounds: int) -> dict[str, Any]:
    """Best-of-rounds turns/second for both, interleaved so both see the same machine load."""
    ours, theirs = [], []
    bot = None
    for _ in range(rounds):
        t, bot = await _statechat(conversations)
        ours.append(t)
        await bot.close()
        theirs.append(await _handwritten(conversations))
    n = conversations * len(SCRIPT)
    best_ours, best_theirs = min(ours), min(theirs)
    # snapshot size after turn 3 of the script
    assert bot is not None
    probe = Bot.from_path(ROOT / "flows" / "banking_transfer.yaml", store="memory://",
                          plugins=[InProcessBankingPlugin()])
    for text in SCRIPT[:3]:
        await probe.handle_message("probe", "u1", text)
    snap = await probe.store.load("probe")
    await probe.close()
    return {
        "turns": n,
        "statechat_turns_per_s": n / best_ours,
        "handwritten_turns_per_s": n / best_theirs,
        "ratio_time_statechat_over_handwritten": best_ours / best_theirs,
        "median_ratio": statistics.median(ours) / statistics.median(theirs),
        "snapshot_bytes_after_turn_3": len(json.dumps(snap, separators=(",", ":")).encode()),
    }


def generated_workflow(n: int) -> dict[str, Any]:
    """A valid workflow of ``n`` steps: slots, conditions and responses in a chain."""
    steps: list[dict[str, Any]] = []
    for i in range(n):
        sid, nxt = f"s{i}", (f"s{i + 1}" if i + 1 < n else None)
        kind = i % 3
        if kind == 0:
            step = {"id": sid, "type": "slot_fill", "slot": f"v{i}", "prompt": f"Value {i}?",
                    "on_error": "failed"}
        elif kind == 1:
            step = {"id": sid, "type": "condition", "condition": f"v{i - 1} != ''",
                    "if_true": nxt or "failed", "if_false": "failed"}
        else:
            step = {"id": sid, "type": "response", "response_text": f"Got {{v{i - 2}}}."}
        if nxt and kind != 1:
            step["next_step"] = nxt
        steps.append(step)
    steps.append({"id": "failed", "type": "response", "response_text": "Sorry."})
    return {"workflow_id": f"generated_{n}", "steps": steps}


def compile_times(sizes: list[int]) -> dict[str, float]:
    """Seconds to load, check and build the class of a generated workflow of each size."""
    plugins = get_plugin_manager()
    out = {}
    for n in sizes:
        wf = generated_workflow(n)
        start = time.perf_counter()
        compile_source(source_from_workflows([wf]), plugins)
        out[str(n)] = time.perf_counter() - start
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip", default="", help="comma list of sections to skip: stores,http")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    report: dict[str, Any] = {"python": sys.version.split()[0]}
    report["turns"] = asyncio.run(turns(args.conversations, args.rounds))
    report["compile_seconds"] = compile_times([int(s) for s in args.sizes.split(",") if s])
    for section in ("stores", "http"):
        if section in skip:
            continue
        try:
            module = importlib.import_module(f"benchmarks.{section}")
        except ModuleNotFoundError:
            continue
        report[section] = module.run()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    t = report["turns"]
    print(f"banking script, {t['turns']} turns per round (best of {args.rounds}):")
    print(f"  statechat   {t['statechat_turns_per_s']:10.0f} turns/s")
    print(f"  handwritten {t['handwritten_turns_per_s']:10.0f} turns/s")
    print(f"  time ratio statechat/hand-written: {t['ratio_time_statechat_over_handwritten']:.2f}"
          f" (median {t['median_ratio']:.2f})")
    print(f"  snapshot after turn 3: {t['snapshot_bytes_after_turn_3']} bytes")
    print("compile (load + check + build class):")
    for n, s in report["compile_seconds"].items():
        print(f"  {n:>6} steps: {s * 1000:9.1f} ms")
    for section in ("stores", "http"):
        if section in report:
            print(f"{section}:")
            for k, v in report[section].items():
                print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
