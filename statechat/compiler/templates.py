"""Rendered strings: the Jinja2 sandbox (StrictUndefined, no autoescape) plus the seed's shorthand.

``{name}`` / ``{a.b}`` / ``{items[0]}`` placeholders are rewritten to ``{{ ... }}`` before Jinja2
parses the text. Strings without any placeholder skip Jinja2 entirely; a string that is exactly
one placeholder can be resolved to the variable's own value (type-preserving request bodies).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

_PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*"
_SHORTHAND = re.compile(r"(?<!{)\{\s*(" + _PATH + r")\s*\}(?!\})")
_SINGLE = re.compile(r"^\s*(?:\{\{\s*(" + _PATH + r")\s*\}\}|\{\s*(" + _PATH + r")\s*\})\s*$")
_MARKERS = ("{", "}")


def to_jinja(text: str) -> str:
    """Rewrite the seed's ``{name}`` shorthand into Jinja2 ``{{ name }}``."""
    if "{" not in text:
        return text
    return _SHORTHAND.sub(r"{{ \1 }}", text)


class TemplateSyntax(ValueError):
    """A template that does not parse (``lineno`` is 1-based within the template)."""

    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.lineno = lineno


class TemplateRenderError(RuntimeError):
    """A template failed while rendering (undefined variable, sandbox violation, ...)."""


@dataclass
class CompiledTemplate:
    """A template compiled once; ``render`` per use."""

    source: str
    names: frozenset[str] = frozenset()
    """Top-level names the template reads."""
    single: tuple[str | int, ...] | None = None
    """Path of the one placeholder when the text is exactly one placeholder."""
    _template: jinja2.Template | None = field(default=None, repr=False)
    _parts: tuple[str | tuple[str | int, ...], ...] | None = field(default=None, repr=False)
    """Literal text and placeholder paths, when the template is nothing but those."""
    _url: bool = field(default=False, repr=False)
    _env: jinja2.Environment | None = field(default=None, repr=False)
    """Set while the Jinja2 template of a simple template has not been needed yet."""

    @property
    def constant(self) -> bool:
        """The text has no placeholder at all."""
        return self._template is None and self._env is None

    def _jinja(self) -> jinja2.Template:
        if self._template is None:
            assert self._env is not None
            self._template = self._env.from_string(to_jinja(self.source))
            self._env = None
        return self._template

    def render(self, context: Mapping[str, Any]) -> str:
        """Render to text.

        Templates made only of text and ``{{ path }}`` placeholders are rendered without Jinja2
        when every placeholder resolves to a str/int/float/bool (same text Jinja2 would give);
        anything else takes the full sandboxed Jinja2 path.

        Raises:
            TemplateRenderError: undefined names, sandbox violations, filter errors.
        """
        if self.constant:
            return self.source
        if self._parts is not None:
            text = _fast_render(self._parts, context, self._url)
            if text is not None:
                return text
        try:
            return self._jinja().render(context)
        except jinja2.UndefinedError as exc:
            raise TemplateRenderError(f"{exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateRenderError(str(exc)) from exc
        except Exception as exc:  # filters and tests are user code too
            raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc

    def value(self, context: Mapping[str, Any]) -> Any:
        """The placeholder's own value when the text is one placeholder, else the rendered text."""
        if self.single is None:
            return self.render(context)
        cur: Any = context
        for part in self.single:
            try:
                cur = cur[part]
            except (KeyError, IndexError, TypeError):
                raise TemplateRenderError(
                    f"{_join(self.single)!r} is undefined"
                ) from None
        return cur


_SIMPLE_TYPES = (str, int, float, bool)


def _fast_render(
    parts: tuple[str | tuple[str | int, ...], ...], context: Mapping[str, Any], url: bool
) -> str | None:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        cur: Any = context
        for key in part:
            if isinstance(key, int):
                if not (isinstance(cur, list) and -len(cur) <= key < len(cur)):
                    return None
            elif not (isinstance(cur, dict) and key in cur):
                return None
            cur = cur[key]
        if type(cur) not in _SIMPLE_TYPES:
            return None
        out.append(_url_quote(cur) if url else str(cur))
    return "".join(out)


_FAST = re.compile(r"\{\{\s*(" + _PATH + r")\s*\}\}")


def _simple_parts(source: str) -> tuple[str | tuple[str | int, ...], ...] | None:
    """Split a Jinja2 source made only of text and ``{{ path }}`` into parts, else ``None``."""
    parts: list[str | tuple[str | int, ...]] = []
    pos = 0
    for m in _FAST.finditer(source):
        parts.append(source[pos : m.start()])
        path = _split_path(m.group(1))
        if any(isinstance(p, str) and p.startswith("_") for p in path):
            return None  # the sandbox decides about private names
        parts.append(path)
        pos = m.end()
    parts.append(source[pos:])
    literal = "".join(p for p in parts if isinstance(p, str))
    if any(marker in literal for marker in ("{{", "}}", "{%", "%}", "{#", "#}")):
        return None
    return tuple(p for p in parts if p != "")


def _url_quote(value: Any) -> str:
    return quote(str(value), safe="")


def _join(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _split_path(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for m in re.finditer(r"[A-Za-z_]\w*|\[(\d+)\]", text):
        parts.append(int(m.group(1)) if m.group(1) is not None else m.group(0))
    return tuple(parts)


class TemplateEngine:
    """One sandboxed Jinja2 environment per bot: filters from plugins, named templates."""

    def __init__(
        self,
        *,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        named: Mapping[str, str] | None = None,
    ) -> None:
        self.env = ImmutableSandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            loader=jinja2.FunctionLoader(self._load),
        )
        # endpoints: every placeholder's value is URL-encoded, so "../admin" cannot change the path
        self.url_env = ImmutableSandboxedEnvironment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            finalize=_url_quote,
        )
        if filters:
            self.env.filters.update(filters)
            self.url_env.filters.update(filters)
        self.named: dict[str, str] = dict(named or {})
        self._cache: dict[tuple[str, bool], CompiledTemplate] = {}

    def _load(self, name: str) -> str | None:
        text = self.named.get(name)
        return None if text is None else to_jinja(text)

    def compile(self, text: str, *, url: bool = False) -> CompiledTemplate:
        """Compile a template string (shorthand allowed); ``url``: URL-encode every placeholder.

        Raises:
            TemplateSyntax: with the line within the template.
        """
        key = (text, url)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        compiled = self._compile(text, url)
        self._cache[key] = compiled
        return compiled

    def _compile(self, text: str, url: bool) -> CompiledTemplate:
        if not any(m in text for m in _MARKERS):
            return CompiledTemplate(text)
        m = _SINGLE.match(text)
        single = _split_path(m.group(1) or m.group(2)) if m and not url else None
        source = to_jinja(text)
        env = self.url_env if url else self.env
        parts = _simple_parts(source)
        if parts is not None:  # text and {{ path }} only: Jinja2 compiles it when first needed
            names = frozenset(str(p[0]) for p in parts if isinstance(p, tuple))
            return CompiledTemplate(text, names, single, None, parts, url, env)
        try:
            ast = env.parse(source)
            names = frozenset(meta.find_undeclared_variables(ast))
            template = env.from_string(ast)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateSyntax(exc.message or "invalid template", exc.lineno) from None
        return CompiledTemplate(text, names, single, template, None, url)

    def compile_named(self, name: str) -> CompiledTemplate:
        """Compile the named template (``template: NAME``).

        Raises:
            KeyError: no template of that name.
            TemplateSyntax: it does not parse.
        """
        if name not in self.named:
            raise KeyError(name)
        return self.compile(self.named[name])

    def referenced_templates(self, text: str) -> set[str]:
        """Names of templates a template includes, imports or extends (for static checks)."""
        try:
            ast = self.env.parse(to_jinja(text))
        except jinja2.TemplateSyntaxError:
            return set()
        return {n for n in meta.find_referenced_templates(ast) if n is not None}
