"""The built-in NLU: intents from ``statechat.yaml``, money and number entities, yes/no/cancel.

Order of precedence for the intent:

1. **patterns** of the configured intents, in declaration order (``re.search``, compiled with
   ``re.IGNORECASE``; confidence 1.0). Named groups become entities; numeric values become
   ``int`` / ``float`` (``"1,000"`` -> 1000) unless they have a leading zero (``"007"`` stays
   text). A numeric group that caught only part of a number written in the message (``1`` of
   ``$1,000.50``) gets the whole number.
2. **examples** of the configured intents, by word overlap (Jaccard similarity of the lowercase
   words; punctuation, numbers and :data:`STOPWORDS` ignored) of at least
   :data:`EXAMPLE_THRESHOLD`; the most similar example wins and the similarity is the confidence.
3. built-in intents: ``cancel`` ("cancel", "stop", "never mind", "quit"...), ``affirm`` ("yes",
   "yeah", "sure", "ok"...), ``deny`` ("no", "nope"...), ``greet`` ("hi", "hello"...).

One exception: a message that is only a cancel command ("cancel", "stop", "please cancel the
transfer") is ``cancel`` even when a configured pattern or example matches some other word of it;
a configured intent wins only if its pattern match (or example) covers the cancel word itself
(so ``cancel_card: {patterns: ['cancel (my )?card']}`` still gets "cancel my card").

Entities found in every message: ``amount`` for a money amount (``$500``, ``500 dollars``,
``500.50 USD``), ``number`` for the first number. When no money amount was found and no pattern
gave an ``amount``, a bare number also fills ``amount``. Numbers with a leading zero
(``007``) are identifiers, not numbers.

The configured intents are compiled once per intents object (cached by identity), never per
message; every regex here is precompiled.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from statechat.nlu import NLUResult
from statechat.plugins.builtin.validators import NO_WORDS, YES_WORDS, parse_number
from statechat.plugins.hookspecs import hookimpl

__all__ = [
    "EXAMPLE_THRESHOLD",
    "STOPWORDS",
    "IntentMatcher",
    "compile_intents",
    "extract_entities",
    "parse",
    "parse_message",
    "tokens",
]

#: Minimum Jaccard similarity between a message and an example.
EXAMPLE_THRESHOLD = 0.5

#: Words left out of example matching (unless nothing else is left).
STOPWORDS = frozenset(
    {
        "a", "an", "the", "i", "im", "ive", "id", "me", "my", "mine", "we", "our", "us", "you",
        "your", "to", "of", "for", "please", "pls", "would", "like", "want", "wanna", "need",
        "can", "could", "will", "just", "is", "are", "am", "be", "it", "this", "that", "now",
        "some", "kindly", "so", "and", "or", "hey",
    }
)  # fmt: skip

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_MONEY_RE = re.compile(
    rf"""(?<![\w.])(?:
        (?:US\$|\$|€|£|USD|EUR|GBP)\s?(?P<a>{_NUM})
      | (?P<b>{_NUM})\s?(?:\$|€|£|usd|dollars?|bucks|eur|euros?|gbp|pounds?)
    )(?![\w]|[.,]\d)""",
    re.IGNORECASE | re.VERBOSE,
)
_NUMBER_RE = re.compile(rf"(?<![\w.,-])(?P<n>-?{_NUM})(?![\w]|[.,]\d|-\d)")
_LOOSE_NUMBER_RE = re.compile(_NUM)
_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_NORM_PUNCT_RE = re.compile(r"[^\w\s]+")
_SPACE_RE = re.compile(r"\s+")
_LEADING_ZERO_RE = re.compile(r"^-?0\d")

_CANCEL_WORDS = r"(?:cancel|stop|quit|exit|abort|never\s?mind|nevermind|forget)"
_CANCEL_EXACT_RE = re.compile(
    r"^(?:(?:no|oh|ok|okay|please|just|actually|i\swant\sto|i\swould\slike\sto)\s)*"
    r"(?:cancel|stop|quit|exit|abort|never\s?mind|forget\sit|forget\sabout\sit)"
    r"(?:\s(?:it|that|this|please|now|all|everything|the\s\w+|my\s\w+))*$"
)
_CANCEL_ANY_RE = re.compile(r"\b(?:cancel|never\s?mind|nevermind|abort)\b")
_CANCEL_WORD_RE = re.compile(rf"\b{_CANCEL_WORDS}\b", re.IGNORECASE)
_CANCEL_TOKENS = frozenset({"cancel", "stop", "quit", "exit", "abort", "nevermind", "never"})
_GREET_RE = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|yo|greetings|good\s(?:morning|afternoon|evening))(?:\sthere)?"
    r"(?:\s\w+)?$"
)
_AFFIRM_FIRST = frozenset({"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "y", "absolutely"})
_DENY_FIRST = frozenset({"no", "nope", "nah", "n"})


def tokens(text: str) -> frozenset[str]:
    """The words of ``text`` used for example matching.

    Lowercase, without punctuation, numbers and :data:`STOPWORDS` (unless nothing else is left).
    """
    words: set[str] = set()
    for token in _TOKEN_RE.findall(text.lower().replace("\u2019", "'")):
        if token.isdigit():
            continue
        if "'" in token:
            words.update(_contraction(token))
        else:
            words.add(token)
    content = words - STOPWORDS
    return frozenset(content or words)


_SUFFIXES = {"s": "is", "m": "am", "d": "would", "ll": "will", "ve": "have", "re": "are"}
_NEGATIONS = {"can't": "can", "won't": "will", "shan't": "shall", "ain't": "is"}


def _contraction(token: str) -> list[str]:
    """``what's`` -> what, is; ``don't`` -> do, not; ``o'clock`` -> oclock."""
    if token in _NEGATIONS:
        return [_NEGATIONS[token], "not"]
    if token.endswith("n't"):
        return [token[:-3], "not"]
    base, _, suffix = token.partition("'")
    if suffix in _SUFFIXES:
        return [base, _SUFFIXES[suffix]]
    return [token.replace("'", "")]


def _normalize(text: str) -> str:
    text = text.lower().replace("'", "").replace("\u2019", "")
    return _SPACE_RE.sub(" ", _NORM_PUNCT_RE.sub(" ", text)).strip()


def _is_identifier(text: str) -> bool:
    return bool(_LEADING_ZERO_RE.match(text)) and not text.lstrip("-").startswith("0.")


def _entity_value(raw: str) -> Any:
    text = raw.strip()
    if _is_identifier(text):
        return text
    number = parse_number(text)
    return text if number is None else number


def _group_value(text: str, m: re.Match[str], group: str) -> Any:
    value = _entity_value(m[group])
    if isinstance(value, int | float):
        start, end = m.span(group)
        for whole in _LOOSE_NUMBER_RE.finditer(text):
            if whole.start() <= start and end <= whole.end():
                if (whole.start(), whole.end()) != (start, end):
                    value = _entity_value(whole[0])
                break
    return value


@dataclass(frozen=True)
class _Intent:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    examples: tuple[frozenset[str], ...]


@functools.lru_cache(maxsize=4096)
def _compile_intent(name: str, patterns: tuple[str, ...], examples: tuple[str, ...]) -> _Intent:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"intent {name!r}: invalid pattern {pattern!r}: {exc}") from None
    return _Intent(name, tuple(compiled), tuple(t for t in map(tokens, examples) if t))


def _field(config: Any, key: str) -> tuple[str, ...]:
    value = config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class PatternMatch:
    """A configured pattern found in a message."""

    intent: str
    entities: dict[str, Any]
    span: tuple[int, int]


@dataclass(frozen=True)
class ExampleMatch:
    """The configured example most similar to a message."""

    intent: str
    score: float
    example: frozenset[str]


@dataclass
class IntentMatcher:
    """The compiled form of a bot's intents: patterns in order plus an index of example words."""

    patterns: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    examples: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    index: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, intents: Mapping[str, Any]) -> IntentMatcher:
        """Compile ``{name: IntentConfig | {"patterns": [...], "examples": [...]}}``.

        Raises:
            ValueError: a pattern is not a valid regular expression (names the intent).
        """
        matcher = cls()
        for name, config in intents.items():
            intent = _compile_intent(
                str(name), _field(config, "patterns"), _field(config, "examples")
            )
            matcher.patterns.extend((intent.name, p) for p in intent.patterns)
            for example in intent.examples:
                i = len(matcher.examples)
                matcher.examples.append((intent.name, example))
                for token in example:
                    matcher.index.setdefault(token, []).append(i)
        return matcher

    def match_pattern(self, text: str) -> PatternMatch | None:
        """The first intent whose pattern is found in ``text``, with its named groups."""
        for name, pattern in self.patterns:
            m = pattern.search(text)
            if m is not None:
                groups = {
                    k: _group_value(text, m, k) for k, v in m.groupdict().items() if v is not None
                }
                return PatternMatch(name, groups, m.span())
        return None

    def match_example(self, words: frozenset[str]) -> ExampleMatch | None:
        """The intent of the most similar example, if similar enough (first declared on ties)."""
        if not words or not self.examples:
            return None
        overlap: dict[int, int] = {}
        for token in words:
            for i in self.index.get(token, ()):
                overlap[i] = overlap.get(i, 0) + 1
        best: ExampleMatch | None = None
        for i in sorted(overlap):
            common = overlap[i]
            name, example = self.examples[i]
            score = common / (len(words) + len(example) - common)
            if score >= EXAMPLE_THRESHOLD and (best is None or score > best.score):
                best = ExampleMatch(name, score, example)
        return best


_EMPTY = IntentMatcher()
_CACHE: dict[int, tuple[Mapping[str, Any], int, IntentMatcher]] = {}
_CACHE_SIZE = 64


def compile_intents(intents: Mapping[str, Any] | None) -> IntentMatcher:
    """The compiled matcher for an intents mapping, cached by the mapping's identity.

    Pass the same (unchanging) mapping on every turn; each new mapping object is compiled once
    (and the compiled form of each intent is shared between mappings with equal intents).

    Raises:
        ValueError: a pattern is not a valid regular expression (names the intent).
    """
    if not intents:
        return _EMPTY
    entry = _CACHE.get(id(intents))
    if entry is not None and entry[0] is intents and entry[1] == len(intents):
        return entry[2]
    matcher = IntentMatcher.build(intents)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    # the mapping is kept alive with its entry, so its id cannot be reused meanwhile
    _CACHE[id(intents)] = (intents, len(intents), matcher)
    return matcher


def extract_entities(text: str, entities: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``entities`` plus ``amount`` (money, else the first number) and ``number``.

    Entities already present (from pattern groups) are kept.
    """
    out = dict(entities or {})
    money = _MONEY_RE.search(text)
    if money is not None:
        value = _entity_value(money["a"] or money["b"])
        if not isinstance(value, str):
            out.setdefault("amount", value)
    for m in _NUMBER_RE.finditer(text):
        if _is_identifier(m["n"]):
            continue
        value = _entity_value(m["n"])
        out.setdefault("number", value)
        out.setdefault("amount", value)
        break
    return out


def _builtin_intent(norm: str) -> tuple[str, float] | None:
    if not norm:
        return None
    if _CANCEL_EXACT_RE.match(norm):
        return "cancel", 1.0
    if _CANCEL_ANY_RE.search(norm):
        return "cancel", 0.8
    if norm in YES_WORDS:
        return "affirm", 1.0
    if norm in NO_WORDS:
        return "deny", 1.0
    words = norm.split()
    if len(words) <= 5:
        if words[0] in _AFFIRM_FIRST:
            return "affirm", 0.8
        if words[0] in _DENY_FIRST:
            return "deny", 0.8
    if _GREET_RE.match(norm):
        return "greet", 1.0
    return None


def _covers_cancel_word(text: str, span: tuple[int, int]) -> bool:
    return any(span[0] <= m.start() and m.end() <= span[1] for m in _CANCEL_WORD_RE.finditer(text))


def parse(text: str, intents: Mapping[str, Any] | None = None) -> NLUResult:
    """Understand ``text`` with the given intents (see the module documentation)."""
    matcher = compile_intents(intents)
    norm = _normalize(text)
    explicit_cancel = bool(_CANCEL_EXACT_RE.match(norm))
    intent: str | None = None
    confidence = 0.0
    entities: dict[str, Any] = {}
    found = matcher.match_pattern(text)
    if found is not None and not (explicit_cancel and not _covers_cancel_word(text, found.span)):
        intent, entities, confidence = found.intent, found.entities, 1.0
    elif found is None:
        similar = matcher.match_example(tokens(text))
        if similar is not None and not (explicit_cancel and not similar.example & _CANCEL_TOKENS):
            intent, confidence = similar.intent, round(similar.score, 3)
    if intent is None:
        builtin = _builtin_intent(norm)
        if builtin is not None:
            intent, confidence = builtin
    return NLUResult(
        text=text, intent=intent, entities=extract_entities(text, entities), confidence=confidence
    )


@hookimpl(trylast=True)
def parse_message(text: str, context: Mapping[str, Any]) -> NLUResult:
    """The built-in NLU hook: ``context["intents"]`` is the bot's ``{name: IntentConfig}``."""
    intents = context.get("intents") if context else None
    return parse(text, intents)
