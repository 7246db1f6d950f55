"""Fix hints: "did you mean ...?" suggestions for misspelt names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """A hint naming the closest other candidate, or ``None`` when nothing is close enough."""
    pool = [str(c) for c in candidates if c != name]
    matches = difflib.get_close_matches(str(name), pool, n=1, cutoff=cutoff)
    return f"did you mean {matches[0]!r}?" if matches else None
