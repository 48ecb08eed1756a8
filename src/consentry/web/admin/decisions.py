"""The decisions log: the messages the send gate refused (blocked or deferred), newest first,
filtered by rule, action and recipient, each with its findings, severity and citation; a page
of 100 at a time, with "older" and "newer" links that keep the filters."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from consentry.domain.catalogue import catalogue
from consentry.errors import InvalidInput, InvalidNumber
from consentry.service._decisions import MAX_CURSOR
from consentry.store.decisions import LoggedDecision
from consentry.web.admin.recipients import names_of
from consentry.web.admin.session import ConsoleRoute, SignedIn

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

ACTIONS = ("block", "defer")
SHOWN = 100  # entries a page


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


def _link(filters: dict[str, str], **cursor: str) -> str:
    """The query string of another page of the log: the same filters, and its cursor."""
    return urlencode({**{k: v for k, v in filters.items() if v}, **cursor})


@router.get("/admin/{tenant_slug}/decisions", response_class=HTMLResponse)
def decisions(
    console: SignedIn,
    rule: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=16)] = "",
    recipient: Annotated[str, Query(max_length=64)] = "",
    before: Annotated[str, Query(max_length=MAX_CURSOR)] = "",
    after: Annotated[str, Query(max_length=MAX_CURSOR)] = "",
) -> Response:
    """Refused messages, newest first, a page of ``SHOWN`` at a time (keyset pages: ``before``
    and ``after`` cursors; the filters are kept across pages). Any role: the log is read-only."""
    rules = catalogue().rules
    errors: dict[str, str] = {}
    if rule and rule not in rules:
        errors["rule"] = "Choose one of the catalogue's rules."
    if action and action not in ACTIONS:
        errors["action"] = "Choose block or defer."
    rows: list[dict[str, Any]] = []
    filters = {"rule": rule, "action": action, "recipient": recipient}
    older = newer = ""
    if not errors:
        try:
            page = console.service.decisions_page(
                console.tenant,
                rule_id=rule or None,
                action=action or None,
                recipient=recipient.strip() or None,
                before=before or None,
                after=after or None,
                limit=SHOWN,
            )
        except (InvalidNumber, InvalidInput) as problem:
            field = problem.field or "recipient"
            if field in ("before", "after"):
                errors["page"] = "This page link is not valid any more: start from the newest."
            else:
                errors[field] = (
                    "Enter a valid phone number, e.g. +1 206 555 0123."
                    if isinstance(problem, InvalidNumber)
                    else problem.message
                )
        else:
            names = names_of(console)
            rows = [_row(one, names) for one in page.decisions]
            older = _link(filters, before=page.older) if page.older else ""
            newer = _link(filters, after=page.newer) if page.newer else ""
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
            "older": older,
            "newer": newer,
            "first_page": _link(filters),
            "errors": errors,
        },
        422 if errors else 200,
    )
