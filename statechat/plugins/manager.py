"""The pluggy PluginManager: entry-point discovery, built-ins, extra plugins, the registry.

Plugins come from the entry-point group ``statechat``. The environment variable
``STATECHAT_LOAD_PLUGINS`` limits which third-party plugins load: a comma-separated list of
entry-point or distribution names (empty: none). Built-ins always load; they are ordinary
plugins whose implementations are marked ``trylast`` so that any other plugin wins.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from statechat.errors import PluginError
from statechat.plugins import hookspecs
from statechat.plugins.registry import HOOKS, KINDS, Kind, Registry

GROUP = "statechat"
ENV_LOAD = "STATECHAT_LOAD_PLUGINS"

#: Built-in plugin modules, by plugin name (also declared as entry points of this package).
DEFAULT_PLUGINS: dict[str, str] = {
    "builtin_validators": "statechat.plugins.builtin.validators",
    "builtin_functions": "statechat.plugins.builtin.functions",
    "builtin_auth": "statechat.plugins.builtin.auth",
    "builtin_nlu": "statechat.plugins.builtin.nlu",
    "builtin_stores": "statechat.plugins.builtin.stores",
}


@dataclass
class PluginInfo:
    """What ``statechat plugins`` shows about one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)
    contributes: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "hooks": self.hooks,
            "contributes": self.contributes,
        }


class PluginSet:
    """A loaded plugin manager plus the registry built from its registration hooks."""

    def __init__(self, pm: pluggy.PluginManager, dists: dict[str, tuple[str, str]]) -> None:
        self.pm = pm
        self.hook = pm.hook
        self._dists = dists
        self.registry = build_registry(pm)

    def info(self) -> list[PluginInfo]:
        """Every registered plugin, with its distribution, hooks and contributions."""
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            dist = self._dists.get(name)
            pi = PluginInfo(
                name=name,
                distribution=dist[0] if dist else None,
                version=dist[1] if dist else None,
                builtin=name in DEFAULT_PLUGINS,
                hooks=sorted(h.name for h in (self.pm.get_hookcallers(plugin) or [])),
            )
            for kind, c in self.registry:
                if c.plugin == name:
                    pi.contributes.setdefault(kind, []).append(c.name)
            out.append(pi)
        return sorted(out, key=lambda p: (p.builtin, p.name))


def _allowed() -> set[str] | None:
    raw = os.environ.get(ENV_LOAD)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _plugin_name(obj: Any) -> str:
    if isinstance(obj, ModuleType):
        return obj.__name__
    return getattr(obj, "__name__", None) or type(obj).__name__


def get_plugin_manager(
    extra: Sequence[Any] = (), *, entry_points: bool = True
) -> PluginSet:
    """Build a plugin manager: built-ins, entry-point plugins (unless disabled), then ``extra``.

    Raises:
        PluginError: a plugin fails to import or register, or two plugins claim one name.
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    dists: dict[str, tuple[str, str]] = {}
    allowed = _allowed()
    builtin_modules = set(DEFAULT_PLUGINS.values())
    if entry_points:
        for ep in metadata.entry_points(group=GROUP):
            dist = ep.dist
            dist_name = dist.metadata["Name"] if dist is not None else None
            if ep.value in builtin_modules or ep.name in DEFAULT_PLUGINS:
                continue  # registered below, whatever the filter
            if allowed is not None and ep.name not in allowed and dist_name not in allowed:
                continue
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} (from {dist_name or 'an unknown distribution'}) "
                    f"failed to load: {type(exc).__name__}: {exc}"
                ) from exc
            _register(pm, plugin, ep.name)
            if dist is not None:
                dists[ep.name] = (dist_name or "", dist.version)
    own = _own_version()
    for name, module in DEFAULT_PLUGINS.items():
        _register(pm, importlib.import_module(module), name)
        dists[name] = ("statechat", own)
    for obj in extra:
        _register(pm, obj, _plugin_name(obj))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or _plugin_name(exc.plugin)
        raise PluginError(f"plugin {name!r} implements an unknown hook: {exc}") from exc
    return PluginSet(pm, dists)


def _own_version() -> str:
    try:
        return metadata.version("statechat")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _register(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except ValueError as exc:
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}") from exc
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r} is invalid: {exc}") from exc


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Call every registration hook, one implementation at a time, tagging each contribution."""
    registry = Registry()
    for kind in KINDS:
        _collect(pm, kind, registry)
    return registry


def _collect(pm: pluggy.PluginManager, kind: Kind, registry: Registry) -> None:
    caller = getattr(pm.hook, HOOKS[kind])
    # call order: later-registered and tryfirst impls first; built-ins (trylast) last
    for impl in reversed(caller.get_hookimpls()):
        plugin = impl.plugin_name
        override = bool(getattr(impl.plugin, "statechat_override", False))

        def register(
            name: str, value: Any, *, _plugin: str = plugin, _override: bool = override
        ) -> None:
            _check_value(kind, name, value, _plugin)
            registry.add(
                kind, name, value, _plugin, builtin=_plugin in DEFAULT_PLUGINS, override=_override
            )

        try:
            impl.function(**({"register": register} if impl.argnames else {}))
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {plugin!r} failed in {HOOKS[kind]}: {type(exc).__name__}: {exc}"
            ) from exc


def _check_value(kind: Kind, name: str, value: Any, plugin: str) -> None:
    if kind == "actions" and not inspect.iscoroutinefunction(value):
        call = type(value).__call__ if callable(value) else None
        if not inspect.iscoroutinefunction(call):
            raise PluginError(
                f"plugin {plugin!r}: action {name!r} must be an async function "
                f"(async def handler(ctx, **parameters))"
            )
    elif kind == "integrations" and not callable(getattr(value, "request", None)):
        raise PluginError(
            f"plugin {plugin!r}: integration {name!r} needs an async request(method, endpoint, ...)"
        )
    elif kind == "auth_providers" and not callable(getattr(value, "verify_user", None)):
        raise PluginError(
            f"plugin {plugin!r}: auth provider {name!r} needs an async verify_user(user_id, provider, ctx)"
        )
    elif kind in ("validators", "functions", "template_filters", "stores") and not callable(value):
        raise PluginError(f"plugin {plugin!r}: {kind[:-1]} {name!r} must be callable")


def plugin_names(plugins: Iterable[Any]) -> list[str]:
    """Names that extra plugin objects will be registered under."""
    return [_plugin_name(p) for p in plugins]
