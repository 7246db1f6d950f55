"""What natural-language understanding says about a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NLUResult:
    """The seed's NLU result: the text, its intent, extracted entities and a confidence."""

    text: str = ""
    intent: str | None = None
    entities: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "text": self.text,
            "intent": self.intent,
            "entities": dict(self.entities),
            "confidence": self.confidence,
        }
