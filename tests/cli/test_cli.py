"""The `statechat` command as users run it: real subprocesses, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests" / "compiler" / "data" / "seed_banking_transfer.yaml"


def statechat(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
              cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "STATECHAT_LOAD_PLUGINS": "banking", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "statechat", *args], input=stdin, capture_output=True, text=True,
        env=full_env, cwd=cwd, timeout=120,
    )


def test_validate_flows_ok() -> None:
    r = statechat("validate", "flows")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "flows: ok: 4 workflow(s), 0 error(s)" in r.stdout


def test_validate_seed_names_both_missing_steps_with_positions() -> None:
    r = statechat("validate", str(SEED))
    assert r.returncode == 1
    assert f"{SEED}:27:13: get_amount: on_error refers to step 'invalid_amount'" in r.stdout
    assert f"{SEED}:37:13: get_from_account: on_error refers to step 'invalid_account'" in r.stdout
    assert "hint:" in r.stdout


def test_validate_json_format() -> None:
    r = statechat("validate", str(SEED), "--format", "json")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    problems = data["results"][0]["problems"]
    assert {(p["line"], p["step"]) for p in problems if p["code"] == "undefined_step"} >= {
        (27, "get_amount"), (37, "get_from_account")}


def test_usage_errors_exit_2() -> None:
    assert statechat("validate").returncode == 2
    assert statechat("no-such-command").returncode == 2
    assert statechat().returncode == 2


def test_validate_missing_path_exits_1() -> None:
    r = statechat("validate", "does/not/exist")
    assert r.returncode == 1 and "no such file or directory" in r.stdout


def test_plugins_lists_installed_packages_json() -> None:
    r = statechat("plugins", "--json", env={"STATECHAT_LOAD_PLUGINS": "banking,audit"})
    assert r.returncode == 0
    names = {p["name"]: p for p in json.loads(r.stdout)}
    assert names["banking"]["distribution"] == "statechat-banking"
    assert "account_exists" in names["banking"]["contributes"]["validators"]
    assert "on_transition" in names["audit"]["hooks"]


def test_compile_summary() -> None:
    r = statechat("compile", "flows")
    assert r.returncode == 0
    assert "banking_transfer_v1: class BankingTransferV1" in r.stdout


def test_chat_scripted_from_stdin(tmp_path: Path) -> None:
    from aiohttp import web  # noqa: F401 - the mock bank runs in its own process below

    port_file = tmp_path / "port"
    bank = subprocess.Popen(
        [sys.executable, "-c",
         "import asyncio, sys\n"
         "from aiohttp import web\n"
         "from statechat_banking.service import make_app\n"
         "async def main():\n"
         "    runner = web.AppRunner(make_app()); await runner.setup()\n"
         "    site = web.TCPSite(runner, '127.0.0.1', 0); await site.start()\n"
         f"    open({str(port_file)!r}, 'w').write(str(site._server.sockets[0].getsockname()[1]))\n"
         "    await asyncio.Event().wait()\n"
         "asyncio.run(main())\n"],
    )
    try:
        import time

        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()):
            if time.monotonic() > deadline or bank.poll() is not None:
                pytest.fail("mock bank did not start")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        store = f"sqlite:///{tmp_path / 'chat.db'}"
        script = "transfer 500\nA9\nA1\nA2\nyes\n"
        r = statechat("chat", "flows", "--store", store if _has_sqlite() else "memory://",
                      "--verbose", stdin=script, env={"CORE_BANKING_URL": url})
        assert r.returncode == 0, r.stderr
        lines = [line for line in r.stdout.splitlines() if line.startswith("bot> ")]
        assert lines[0] == "bot> Which account would you like to transfer from?"
        assert lines[-1].startswith("bot> Done! $500 was sent from A1 to A2.")
        assert "[state: banking_transfer_v1.get_to_account | waiting for: to_account]" in r.stdout
    finally:
        bank.terminate()
        bank.wait(10)


def _has_sqlite() -> bool:
    from statechat.plugins.manager import get_plugin_manager

    return get_plugin_manager(entry_points=False).registry.has("stores", "sqlite")
