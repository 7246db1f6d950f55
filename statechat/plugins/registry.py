"""What the loaded plugins contribute, by kind and name; the compiler and runtime query it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from statechat.errors import PluginError

Kind = Literal[
    "actions",
    "integrations",
    "auth_providers",
    "validators",
    "functions",
    "template_filters",
    "stores",
    "step_types",
]
KINDS: tuple[Kind, ...] = get_args(Kind)
#: The registration hook of each kind.
HOOKS: dict[Kind, str] = {k: f"register_{k}" for k in KINDS}

Register = Callable[[str, Any], None]


@dataclass(frozen=True)
class Contribution:
    """One named thing a plugin contributed."""

    name: str
    value: Any
    plugin: str


@dataclass
class Registry:
    """Contributions by kind, then by name."""

    by_kind: dict[str, dict[str, Contribution]] = field(
        default_factory=lambda: {k: {} for k in KINDS}
    )
    overrides: set[tuple[str, str]] = field(default_factory=set)
    """(kind, name) pairs registered with ``override``: later registrations give way."""
    builtins: set[str] = field(default_factory=set)
    """Names of the built-in plugins (their contributions can be replaced)."""

    def add(
        self,
        kind: Kind,
        name: str,
        value: Any,
        plugin: str,
        *,
        builtin: bool = False,
        override: bool = False,
    ) -> None:
        """Record a contribution; a name taken by another plugin is a :class:`PluginError`.

        Built-in contributions give way: a plugin may replace a built-in name. ``override``
        replaces whatever is registered (explicit registrations such as the seed's
        ``register_action_handler``).
        """
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r}: {kind} names must be non-empty strings")
        table = self.by_kind[kind]
        existing = table.get(name)
        if override:
            self.overrides.add((kind, name))
            table[name] = Contribution(name, value, plugin)
            return
        if existing is not None and (builtin or (kind, name) in self.overrides):
            return
        if existing is not None and existing.plugin in self.builtins:
            table[name] = Contribution(name, value, plugin)
            return
        if builtin:
            self.builtins.add(plugin)
        if name in table:
            other = table[name].plugin
            raise PluginError(
                f"{kind[:-1].replace('_', ' ')} {name!r} is registered by both plugin "
                f"{other!r} and plugin {plugin!r}"
            )
        table[name] = Contribution(name, value, plugin)

    def names(self, kind: Kind) -> list[str]:
        """The registered names of one kind, sorted."""
        return sorted(self.by_kind[kind])

    def get(self, kind: Kind, name: str) -> Any:
        """The contributed object. Raises ``KeyError`` if none."""
        return self.by_kind[kind][name].value

    def find(self, kind: Kind, name: str) -> Contribution | None:
        """The contribution with its plugin name, or ``None``."""
        return self.by_kind[kind].get(name)

    def has(self, kind: Kind, name: str) -> bool:
        """Whether something of this kind is registered under ``name``."""
        return name in self.by_kind[kind]

    def values(self, kind: Kind) -> dict[str, Any]:
        """``{name: object}`` for one kind."""
        return {n: c.value for n, c in self.by_kind[kind].items()}

    def __iter__(self) -> Iterator[tuple[Kind, Contribution]]:
        for kind in KINDS:
            for c in self.by_kind[kind].values():
                yield kind, c
