"""The send gate's rule catalogue and limits, read from ``rules/send_gate.toml``.

Rule ids are a public interface: users filter, alert and report on them. The catalogue says, for
each id, the severity it carries, what it checks and where the rule comes from; ``consentry rules
list`` and ``docs/rules.md`` are generated from it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

SEVERITIES = ("block", "defer", "warn", "info")


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """One entry of the rule catalogue."""

    id: str
    severity: str  # "block", "defer", "warn", "info" or "warn / block"
    checks: str
    citation: str


@dataclass(frozen=True, slots=True)
class GateLimits:
    """The thresholds and category lists of the send gate (each section cited in the file)."""

    snowshoe_window: timedelta
    snowshoe_warn_senders: int
    snowshoe_block_senders: int
    first_message_categories: frozenset[str]
    brand_id_categories: frozenset[str]
    reminder_interval: timedelta
    reminder_categories: frozenset[str]
    capped_categories: frozenset[str]
    conversation_window: timedelta
    one_way_notices: tuple[re.Pattern[str], ...]
    one_way_alternatives: tuple[re.Pattern[str], ...]
    citations: dict[str, str]


@dataclass(frozen=True, slots=True)
class Catalogue:
    rules: dict[str, RuleInfo]
    limits: GateLimits

    def citation(self, rule_id: str) -> str:
        return self.rules[rule_id].citation


@cache
def catalogue() -> Catalogue:
    """Load and check ``rules/send_gate.toml`` once."""
    text = resources.files("consentry.rules").joinpath("send_gate.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    rules: dict[str, RuleInfo] = {}
    for rule_id, entry in data["rules"].items():
        severity = str(entry["severity"])
        if any(part.strip() not in SEVERITIES for part in severity.split("/")):
            raise ValueError(f"send_gate.toml: {rule_id} has unknown severity {severity!r}")
        if not str(entry.get("citation", "")).strip():
            raise ValueError(f"send_gate.toml: {rule_id} has no citation")
        rules[rule_id] = RuleInfo(rule_id, severity, str(entry["checks"]), str(entry["citation"]))
    snowshoe = data["snowshoe"]
    disclosure = data["disclosure"]
    limits = GateLimits(
        snowshoe_window=timedelta(minutes=int(snowshoe["window_minutes"])),
        snowshoe_warn_senders=int(snowshoe["warn_senders"]),
        snowshoe_block_senders=int(snowshoe["block_senders"]),
        first_message_categories=frozenset(disclosure["first_message_categories"]),
        brand_id_categories=frozenset(disclosure["brand_id_categories"]),
        reminder_interval=timedelta(days=int(disclosure["reminder_days"])),
        reminder_categories=frozenset(disclosure["reminder_categories"]),
        capped_categories=frozenset(data["frequency"]["capped_categories"]),
        conversation_window=timedelta(hours=int(data["conversation"]["window_hours"])),
        one_way_notices=tuple(re.compile(p, re.IGNORECASE) for p in data["one_way"]["notices"]),
        one_way_alternatives=tuple(
            re.compile(p, re.IGNORECASE) for p in data["one_way"]["alternatives"]
        ),
        citations={
            name: str(section["citation"])
            for name, section in data.items()
            if name != "rules" and isinstance(section, dict)
        },
    )
    return Catalogue(rules=rules, limits=limits)


def rule_ids() -> tuple[str, ...]:
    """Every rule id of the catalogue, in catalogue order."""
    return tuple(catalogue().rules)


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (``docs/rules.md``)."""
    lines = [
        "# Send gate rule catalogue",
        "",
        "Generated from `src/consentry/rules/send_gate.toml` by `consentry rules list --markdown`;",
        "do not edit by hand. Severity `block`: may not be sent; `defer`: may be sent at",
        "`defer_until`; `warn` and `info` never stop a message.",
        "",
        "| id | severity | checks | source |",
        "| --- | --- | --- | --- |",
    ]
    for rule in catalogue().rules.values():
        cells = (rule.id, rule.severity, rule.checks, rule.citation)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
