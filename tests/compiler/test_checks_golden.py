"""Golden bad flows: each ``tests/compiler/bad/*.yaml`` starts with the problems it must yield.

Header lines: ``# error: LINE:COL CODE message-substring`` (or ``# warning: ...``), one per
problem, each optionally followed by ``#   hint: hint-substring``; the file must yield exactly
these problems (errors and warnings), in this order, no more.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from statechat.compiler.checks import CheckContext, check_workflow
from statechat.compiler.loader import load_workflow_file
from statechat.compiler.schema import BotConfig, IntegrationConfig, IntentConfig
from statechat.errors import CompileError, Problem
from statechat.plugins.api import StepTypeSpec
from statechat.plugins.registry import Registry

BAD = Path(__file__).parent / "bad"
HEADER = re.compile(r"^# (error|warning): (\d+):(\d+) (\w+) (.+)$")
HINT = re.compile(r"^#   hint: (.+)$")


async def _run(ctx: Any, step: Any, message: Any) -> str:
    return "ok"


def golden_registry() -> Registry:
    """A registry built by hand with the names the golden flows treat as known."""
    r = Registry()

    def add(kind: Any, *names: str, value: Any = None) -> None:
        for name in names:
            r.add(kind, name, value if value is not None else object(), "golden")

    add("auth_providers", "session", "mfa")
    add("validators", "number", "integer", "choice", "regex", "account_exists")
    add("actions", "validate_account_access")
    add("integrations", "core_banking")
    add("functions", "len", "lower")
    add("template_filters", "money", value=lambda v: f"${v}")
    add("step_types", "notify", value=StepTypeSpec(_run, waits=False, required=("endpoint",)))
    add("step_types", "approval", value=StepTypeSpec(_run, waits=True))
    return r


def golden_context() -> CheckContext:
    """Registry above, two intents, a configured HTTP integration, one bot template, one workflow."""
    return CheckContext(
        registry=golden_registry(),
        config=BotConfig(
            intents={"transfer_money": IntentConfig(), "check_balance": IntentConfig()},
            integrations={"crm": IntegrationConfig(base_url="http://crm.invalid")},
        ),
        templates={"receipt": "Sent {amount} to {to_account}."},
        workflow_ids=frozenset({"other_flow"}),
    )


def problems_of(path: Path, ctx: CheckContext | None = None) -> list[Problem]:
    """Load and check one file: loader problems (CompileError) or the checker's problems."""
    try:
        lw = load_workflow_file(path)
    except CompileError as exc:
        return exc.problems
    return check_workflow(lw, ctx if ctx is not None else golden_context())


def expected_of(path: Path) -> list[tuple[str, int, int, str, str, str | None]]:
    """The header: (severity, line, column, code, message part, hint part or None) per problem."""
    out: list[tuple[str, int, int, str, str, str | None]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = HEADER.match(line)
        h = HINT.match(line)
        if h is not None and out:
            out[-1] = (*out[-1][:5], h.group(1))
        elif m is not None:
            sev, ln, col, code, msg = m.groups()
            out.append((sev, int(ln), int(col), code, msg, None))
        else:
            break
    return out


def _describe(problems: list[Problem]) -> str:
    return "\n".join(f"  {p.severity} {p.location} {p.code}: {p.message}" for p in problems)


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_golden_bad_flow(path: Path) -> None:
    expected = expected_of(path)
    assert expected, f"{path.name} has no '# error: LINE:COL CODE message' header"
    problems = problems_of(path)
    assert len(problems) == len(expected), (
        f"{path.name}: expected {len(expected)} problem(s), got:\n{_describe(problems)}"
    )
    for p, (sev, line, col, code, msg, hint) in zip(problems, expected, strict=True):
        assert p.location is not None
        got = (p.severity, p.location.line, p.location.column, p.code)
        assert got == (sev, line, col, code), f"{path.name}:\n{_describe(problems)}"
        assert p.location.file == str(path)
        assert msg in p.message, f"{path.name}: {msg!r} not in {p.message!r}"
        if hint is not None:
            assert p.hint is not None and hint in p.hint, f"{path.name}: hint {p.hint!r}"
        if code not in ("yaml_syntax", "schema", "empty", "encoding", "too_large"):
            assert p.step is not None or code in (
                "undefined_step",
                "loop_body",
                "unknown_intent",
                "template_syntax",
            ), f"{path.name}: problem without a step: {p}"


def test_every_check_has_a_golden_file() -> None:
    codes = {e[3] for path in BAD.glob("*.yaml") for e in expected_of(path)}
    for code in (
        "undefined_step",
        "duplicate_id",
        "unreachable",
        "no_end",
        "spin_cycle",
        "expression_syntax",
        "undefined_name",
        "unknown_function",
        "template_syntax",
        "unknown_template",
        "unknown_action",
        "unknown_integration",
        "unknown_auth_provider",
        "unknown_validator",
        "unknown_step_type",
        "unknown_workflow",
        "missing_field",
        "conflicting_fields",
        "loop_body",
        "no_effect",
        "no_error_handler",
        "unknown_intent",
        "yaml_syntax",
        "schema",
        "empty",
    ):
        assert code in codes, f"no golden file covers {code!r}"
