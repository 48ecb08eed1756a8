"""The decisions log: the messages the send gate refused (blocked or deferred), newest first,
filtered by rule, action and recipient, each with its findings, severity and citation."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from consentry.domain.catalogue import catalogue
from consentry.errors import InvalidInput, InvalidNumber
from consentry.store.decisions import LoggedDecision
from consentry.web.admin.recipients import names_of
from consentry.web.admin.session import ConsoleRoute, SignedIn

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

ACTIONS = ("block", "defer")
SHOWN = 200


def _row(decision: LoggedDecision, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": decision.id,
        "decided_at": decision.decided_at,
        "send_at": decision.send_at,
        "sender": decision.sender,
        "recipient": decision.recipient,
        "quoted": quote(decision.recipient),
        "program": names.get(decision.program_id, decision.program_id),
        "category": decision.category,
        "action": decision.action,
        "defer_until": decision.defer_until,
        "rule_ids": decision.rule_ids,
        "findings": decision.findings,
    }


@router.get("/admin/{tenant_slug}/decisions", response_class=HTMLResponse)
def decisions(
    console: SignedIn,
    rule: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=16)] = "",
    recipient: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Refused messages, newest first (any role: the log is read-only)."""
    rules = catalogue().rules
    errors: dict[str, str] = {}
    if rule and rule not in rules:
        errors["rule"] = "Choose one of the catalogue's rules."
    if action and action not in ACTIONS:
        errors["action"] = "Choose block or defer."
    rows: list[dict[str, Any]] = []
    if not errors:
        try:
            found = console.service.list_decisions(
                console.tenant,
                rule_id=rule or None,
                action=action or None,
                recipient=recipient.strip() or None,
                limit=SHOWN,
            )
        except (InvalidNumber, InvalidInput) as problem:
            errors[problem.field or "recipient"] = (
                "Enter a valid phone number, e.g. +1 206 555 0123."
                if isinstance(problem, InvalidNumber)
                else problem.message
            )
        else:
            names = names_of(console)
            rows = [_row(one, names) for one in found]
    return console.render(
        "admin/decisions.html",
        {
            "rules": list(rules.values()),
            "actions": ACTIONS,
            "rule": rule,
            "action": action,
            "recipient": recipient,
            "rows": rows,
            "shown": SHOWN,
            "errors": errors,
        },
        422 if errors else 200,
    )
