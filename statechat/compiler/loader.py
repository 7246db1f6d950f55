"""Located loading: YAML/JSON/dicts -> validated models, every node keeping ``file:line:col``.

YAML is composed with a safe loader that keeps ``on``/``off``/``yes``/``no`` as strings, then
turned into plain Python data while recording the position of every value and every key. Pydantic
errors are mapped back to those positions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from statechat.compiler.schema import BotConfig, Workflow
from statechat.errors import CompileError, Problem, SourceLocation

MAX_FILE_BYTES = 5 * 1024 * 1024
WORKFLOW_SUFFIXES = (".yaml", ".yml", ".json")
CONFIG_NAMES = ("statechat.yaml", "statechat.yml")

Path_ = tuple[str | int, ...]

_BaseLoader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader without YAML 1.1 booleans: only ``true``/``false`` are booleans."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class SourceMap:
    """Positions of every value (and mapping key) of one loaded document, by data path."""

    file: str
    values: dict[Path_, SourceLocation] = field(default_factory=dict)
    keys: dict[Path_, SourceLocation] = field(default_factory=dict)

    def locate(self, path: Path_, *, key: bool = False) -> SourceLocation:
        """The location of ``path`` (its key when ``key``), else of its nearest located parent."""
        p = tuple(path)
        if key and p in self.keys:
            return self.keys[p]
        while p:
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), SourceLocation(self.file, 0, 0))

    def step(self, index: int, fieldname: str | None = None) -> SourceLocation:
        """The location of step ``index`` or of one of its fields."""
        if fieldname is None:
            return self.locate(("steps", index))
        return self.locate(("steps", index, fieldname))


@dataclass
class LoadedWorkflow:
    """A validated workflow with its source positions and content hash."""

    workflow: Workflow
    source: SourceMap
    data: dict[str, Any]
    content_hash: str

    @property
    def file(self) -> str:
        """The file (or pseudo-name) the workflow came from."""
        return self.source.file

    def step_location(self, step_id: str, fieldname: str | None = None) -> SourceLocation:
        """Location of the (first) step with this id, or of one of its fields."""
        for i, s in enumerate(self.workflow.steps):
            if s.id == step_id:
                return self.source.step(i, fieldname)
        return self.source.locate(())


@dataclass
class BotSource:
    """Everything a bot directory holds: workflows, configuration and templates."""

    root: str
    workflows: list[LoadedWorkflow] = field(default_factory=list)
    config: BotConfig = field(default_factory=BotConfig)
    config_source: SourceMap | None = None
    templates: dict[str, tuple[str, SourceLocation]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


# --------------------------------------------------------------------------- parsing


def _to_python(node: yaml.Node, path: Path_, smap: SourceMap) -> Any:
    mark = node.start_mark
    smap.values[path] = SourceLocation(smap.file, mark.line + 1, mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.MappingNode | yaml.SequenceNode):
                raise _Located("mapping keys must be plain values", key_node)
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Located("YAML merge keys ('<<') are not supported", key_node)
            key = _scalar(key_node)
            if key in out:
                raise _Located(f"duplicate key {key!r}", key_node)
            child = (*path, key)
            km = key_node.start_mark
            smap.keys[child] = SourceLocation(smap.file, km.line + 1, km.column + 1)
            out[key] = _to_python(value_node, child, smap)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, (*path, i), smap) for i, v in enumerate(node.value)]
    return _scalar(node)


_constructors = threading.local()


def _scalar(node: yaml.Node) -> Any:
    # one SafeConstructor per thread: building a SafeLoader per scalar dominated load time
    constructor = getattr(_constructors, "c", None)
    if constructor is None:
        constructor = _constructors.c = yaml.constructor.SafeConstructor()
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise _Located(str(getattr(exc, "problem", exc)), node) from exc
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. 2020-13-45, !!int abc
        raise _Located(f"invalid value {node.value!r}: {exc}", node) from exc
    finally:
        constructor.constructed_objects.clear()
        constructor.recursive_objects.clear()


class _Located(Exception):
    def __init__(self, message: str, node: yaml.Node) -> None:
        super().__init__(message)
        self.node = node


def parse_text(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse YAML (or JSON) text into Python data plus a :class:`SourceMap`.

    Raises:
        CompileError: malformed YAML, several documents, or unsupported constructs.
    """
    smap = SourceMap(file)
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = (
            SourceLocation(file, mark.line + 1, mark.column + 1) if mark else SourceLocation(file)
        )
        msg = f"invalid YAML: {exc.problem or exc.context}"
        raise CompileError([Problem(msg, loc, code="yaml_syntax")]) from None
    except yaml.YAMLError as exc:
        raise CompileError([Problem(f"invalid YAML: {exc}", SourceLocation(file))]) from None
    except RecursionError:
        raise CompileError([_too_deep(file)]) from None
    if len(nodes) > 1:
        m = nodes[1].start_mark
        raise CompileError(
            [
                Problem(
                    "a workflow file holds exactly one YAML document",
                    SourceLocation(file, m.line + 1, m.column + 1),
                    hint="split the documents into separate files",
                    code="yaml_syntax",
                )
            ]
        )
    if not nodes:
        return None, smap
    try:
        return _to_python(nodes[0], (), smap), smap
    except _Located as exc:
        m = exc.node.start_mark
        loc = SourceLocation(file, m.line + 1, m.column + 1)
        raise CompileError([Problem(str(exc), loc, code="yaml_syntax")]) from None
    except RecursionError:
        raise CompileError([_too_deep(file)]) from None


def _too_deep(file: str) -> Problem:
    return Problem("the document is nested too deeply", SourceLocation(file), code="yaml_syntax")


def read_text(path: Path) -> str:
    """Read a workflow file as UTF-8 text, with located errors for size and encoding."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CompileError(
                [
                    Problem(
                        f"file is too large ({size / 1e6:.1f} MB; the limit is "
                        f"{MAX_FILE_BYTES / 1e6:.0f} MB)",
                        SourceLocation(file),
                        hint="split the workflow into several files",
                        code="too_large",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise CompileError(
            [Problem(f"cannot read file: {exc.strerror}", SourceLocation(file))]
        ) from None
    if b"\x00" in raw:
        raise CompileError(
            [
                Problem(
                    "binary data, not a YAML or JSON text file",
                    SourceLocation(file),
                    code="encoding",
                )
            ]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CompileError(
            [
                Problem(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                    SourceLocation(file, line, col),
                    hint="save the file as UTF-8",
                    code="encoding",
                )
            ]
        ) from None


# --------------------------------------------------------------------------- validation


def pydantic_problems(
    exc: ValidationError, smap: SourceMap, data: Any, *, prefix: Path_ = ()
) -> list[Problem]:
    """Map pydantic errors to located :class:`Problem` items (one per error)."""
    problems: list[Problem] = []
    by_place: dict[tuple[Path_, str], int] = {}
    for err in exc.errors(include_url=False):
        loc: Path_ = (*prefix, *err["loc"])
        step = _step_id(data, loc)
        kind = err["type"]
        trimmed = _trim_union(loc, smap)
        rel = trimmed[2:] if step is not None else trimmed[len(prefix) :]
        field_path = ".".join(str(p) for p in rel)
        hint = None
        if kind == "extra_forbidden":
            location = smap.locate(loc, key=True)
            msg = f"unknown key {loc[-1]!r}"
            hint = _unknown_key_hint(str(loc[-1]), loc)
        elif kind == "missing":
            location = smap.locate(trimmed)
            msg = f"missing required field {field_path!r}"
        else:
            location = smap.locate(trimmed)
            msg = f"{field_path}: {err['msg']}" if field_path else str(err["msg"])
        place = (trimmed, kind if kind in ("extra_forbidden", "missing") else "value")
        if place in by_place:  # union members fail together: one problem, messages joined
            i = by_place[place]
            extra = str(err["msg"])
            if extra not in problems[i].message:
                problems[i] = Problem(
                    problems[i].message + f" or {extra[0].lower()}{extra[1:]}",
                    problems[i].location,
                    step=step,
                    code="schema",
                )
            continue
        by_place[place] = len(problems)
        problems.append(Problem(msg, location, step=step, hint=hint, code="schema"))
    return problems


def _trim_union(loc: Path_, smap: SourceMap) -> Path_:
    # pydantic appends union member names ("str", "list[str]") to a loc: drop what isn't data
    p = loc
    while p and p not in smap.values and isinstance(p[-1], str) and p[:-1] in smap.values:
        p = p[:-1]
    return p


def _step_id(data: Any, loc: Path_) -> str | None:
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) and isinstance(data, dict):
        steps = data.get("steps")
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], dict):
            sid = steps[loc[1]].get("id")
            return str(sid) if sid is not None else f"steps[{loc[1]}]"
    return None


def _unknown_key_hint(key: str, loc: Path_) -> str | None:
    from statechat.compiler.suggest import did_you_mean

    if len(loc) >= 3 and loc[0] == "steps":
        from statechat.compiler.schema import WorkflowStep

        return did_you_mean(key, WorkflowStep.model_fields)
    if len(loc) == 1:
        return did_you_mean(key, Workflow.model_fields)
    return None


def _hash(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def load_workflow_data(data: Any, smap: SourceMap) -> LoadedWorkflow:
    """Validate already-parsed data as a workflow.

    Raises:
        CompileError: the document is not a mapping or breaks the schema.
    """
    if data is None:
        raise CompileError(
            [Problem("empty file: expected a workflow mapping", smap.locate(()), code="empty")]
        )
    if not isinstance(data, dict):
        raise CompileError(
            [
                Problem(
                    f"expected a workflow mapping at the top level, found {type(data).__name__}",
                    smap.locate(()),
                    hint="a workflow starts with 'workflow_id:' and 'steps:'",
                    code="schema",
                )
            ]
        )
    try:
        wf = Workflow.model_validate(data)
    except ValidationError as exc:
        raise CompileError(pydantic_problems(exc, smap, data)) from None
    return LoadedWorkflow(wf, smap, data, _hash(data))


def load_workflow_file(path: str | os.PathLike[str]) -> LoadedWorkflow:
    """Load and validate one workflow file (YAML or JSON)."""
    p = Path(path)
    data, smap = parse_text(read_text(p), str(path))
    return load_workflow_data(data, smap)


def load_workflow_dict(data: Mapping[str, Any], name: str = "<dict>") -> LoadedWorkflow:
    """Validate a workflow given as a Python mapping (no line numbers: paths are shown instead)."""
    smap = SourceMap(name)
    _record_paths(data, (), smap)
    return load_workflow_data(dict(data), smap)


def _record_paths(value: Any, path: Path_, smap: SourceMap) -> None:
    smap.values[path] = SourceLocation(smap.file + _path_suffix(path))
    if isinstance(value, Mapping):
        for k, v in value.items():
            smap.keys[(*path, k)] = SourceLocation(smap.file + _path_suffix((*path, k)))
            _record_paths(v, (*path, k), smap)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _record_paths(v, (*path, i), smap)


def _path_suffix(path: Path_) -> str:
    if not path:
        return ""
    return ":" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


# --------------------------------------------------------------------------- configuration


_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute_env(
    value: Any, path: Path_, smap: SourceMap, problems: list[Problem], env: Mapping[str, str]
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of ``value``."""
    if isinstance(value, dict):
        return {k: substitute_env(v, (*path, k), smap, problems, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, (*path, i), smap, problems, env) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(
            Problem(
                f"environment variable {name} is not set",
                smap.locate(path),
                hint=f"export {name}=... or write ${{{name}:-default}}",
                code="env",
            )
        )
        return ""

    return _ENV_RE.sub(repl, value)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> tuple[BotConfig, SourceMap]:
    """Load ``statechat.yaml`` with environment substitution."""
    data, smap = parse_text(read_text(path), str(path))
    if data is None:
        return BotConfig(), smap
    if not isinstance(data, dict):
        raise CompileError([Problem("statechat.yaml must be a mapping", smap.locate(()))])
    problems: list[Problem] = []
    data = substitute_env(data, (), smap, problems, os.environ if env is None else env)
    if problems:
        raise CompileError(problems)
    try:
        return BotConfig.model_validate(data), smap
    except ValidationError as exc:
        raise CompileError(pydantic_problems(exc, smap, data)) from None


# --------------------------------------------------------------------------- bot directory


def load_bot(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> BotSource:
    """Load a bot: a directory of workflows (plus ``statechat.yaml`` and ``templates/``) or one file.

    Every file is loaded even when an earlier one fails; problems are collected in
    ``BotSource.problems`` (the caller decides when to raise).
    """
    p = Path(path)
    bot = BotSource(root=str(p))
    if not p.exists():
        bot.problems.append(
            Problem("no such file or directory", SourceLocation(str(p)), code="io")
        )
        return bot
    if p.is_dir():
        files = sorted(
            f
            for f in p.iterdir()
            if f.is_file() and f.suffix in WORKFLOW_SUFFIXES and f.name not in CONFIG_NAMES
        )
        config_files = [p / n for n in CONFIG_NAMES if (p / n).is_file()]
        template_dir = p / "templates"
    else:
        files = [p]
        config_files = [p.parent / n for n in CONFIG_NAMES if (p.parent / n).is_file()]
        template_dir = p.parent / "templates"
    for cf in config_files[:1]:
        try:
            bot.config, bot.config_source = load_config(cf, env)
        except CompileError as exc:
            bot.problems.extend(exc.problems)
    if template_dir.is_dir():
        for t in sorted(template_dir.glob("*.j2")):
            try:
                bot.templates[t.stem] = (read_text(t), SourceLocation(str(t), 1, 1))
            except CompileError as exc:
                bot.problems.extend(exc.problems)
    for f in files:
        try:
            bot.workflows.append(load_workflow_file(f))
        except CompileError as exc:
            bot.problems.extend(exc.problems)
    if p.is_dir() and not files:
        bot.problems.append(
            Problem(
                "no workflow files (*.yaml, *.yml, *.json) in this directory",
                SourceLocation(str(p)),
                code="empty",
            )
        )
    return bot
