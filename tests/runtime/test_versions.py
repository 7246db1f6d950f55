"""Sessions across workflow versions (DESIGN.md section 11)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from statechat import Bot
from statechat.stores.memory import MemoryStore
from tests.runtime.conftest import FLOWS, Bank


def _copy_flows(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


async def test_in_flight_sessions_finish_on_their_version(bank: Bank, make_bot: Any,
                                                          tmp_path: Path) -> None:
    flows = _copy_flows(tmp_path)
    bot: Bot = make_bot(flows)
    await bot.handle_message("old", "u1", "transfer 100")
    _edit(flows / "banking_transfer.yaml", "Which account should receive the money?",
          "Where should the money go?")
    assert bot.reload() == ["banking_transfer_v1"]
    old = await bot.handle_message("old", "u1", "A1")
    assert old.responses == ["Which account should receive the money?"]
    await bot.handle_message("new", "u1", "transfer 100")
    new = await bot.handle_message("new", "u1", "A1")
    assert new.responses == ["Where should the money go?"]
    done = [await bot.handle_message("old", "u1", t) for t in ("A2", "yes")][-1]
    assert done.completed and done.responses[0].startswith("Done! $100")


async def test_gone_version_moves_over_when_its_states_exist(bank: Bank, tmp_path: Path) -> None:
    flows = _copy_flows(tmp_path)
    store = MemoryStore()  # shared by both bots: the process "restarts" with edited flows
    first = Bot.from_path(flows, store=store)
    await first.handle_message("s", "u1", "transfer 100")
    await first.close()
    _edit(flows / "banking_transfer.yaml", "Which account should receive the money?",
          "Where should the money go?")
    second = Bot.from_path(flows, store=store)
    turn = await second.handle_message("s", "u1", "A1")
    assert turn.responses == ["Where should the money go?"]
    await second.close()


async def test_gone_version_without_its_state_restarts_clearly(bank: Bank, tmp_path: Path) -> None:
    flows = _copy_flows(tmp_path)
    store = MemoryStore()
    first = Bot.from_path(flows, store=store)
    await first.handle_message("s", "u1", "transfer 100")
    await first.close()
    _edit(flows / "banking_transfer.yaml", "get_from_account", "source_account")
    second = Bot.from_path(flows, store=store)
    turn = await second.handle_message("s", "u1", "A1")
    assert turn.responses[0] == "This conversation's workflow was updated, so we need to start it again."
    assert turn.state == "banking_transfer_v1.get_amount"
    await second.close()
