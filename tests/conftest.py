"""Project-wide test settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


# --------------------------------------------------------------------------- audit trail
@pytest.fixture(autouse=True, scope="session")
def _audit_log_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The installed audit plugin writes its trail to a temporary file, never into the repo."""
    path = tmp_path_factory.mktemp("audit") / "statechat-audit.jsonl"
    mp = pytest.MonkeyPatch()
    mp.setenv("STATECHAT_AUDIT_LOG", str(path))
    yield path
    mp.undo()
