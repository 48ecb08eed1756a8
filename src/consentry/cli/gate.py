"""The send gate and the linter: check, rules, lint."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _fail,
    _print_json,
    _run,
    _service,
    _table_or_json,
    _tenant,
    app,
    out,
)
from consentry.domain.catalogue import catalogue, catalogue_markdown
from consentry.domain.policy import decision_json
from consentry.service import (
    MAX_BATCH,
    BatchItem,
    SendRequest,
)

rules_app = typer.Typer(help="The send gate's rule catalogue.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
decisions_app = typer.Typer(
    help="The decisions log: messages the gate blocked or deferred, and why.",
    no_args_is_help=True,
)
app.add_typer(decisions_app, name="decisions")

# -- send gate ---------------------------------------------------------------------------------

_MESSAGE_FIELDS = {"from", "to", "program", "body", "at", "category"}


@app.command()
def check(
    source: Annotated[
        str | None,
        typer.Argument(help="A JSON message, or a JSON-lines file of them ('-': standard input)."),
    ] = None,
    sender_from: Annotated[str | None, typer.Option("--from", help="Sender address.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Recipient number.")] = None,
    program: Annotated[str | None, typer.Option(help="Program id or slug.")] = None,
    body: Annotated[str | None, typer.Option(help="Message text.")] = None,
    at: Annotated[str | None, typer.Option(help="When it would leave (ISO 8601, zoned).")] = None,
    category: Annotated[str | None, typer.Option(help="marketing | informational | ...")] = None,
    record: Annotated[bool, typer.Option(help="Record allowed messages as sent.")] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Check messages before sending. Exit 0: all may go; 1: some blocked or deferred; 2: bad input.

    Example: consentry check --from +12065550100 --to +14255550123 --program coffee-club
    --body "Demo Coffee: 2-for-1 today. Reply STOP to opt out"
    """
    if source is not None:
        if any(v is not None for v in (sender_from, to, program, body, at, category)):
            _fail("give either a file or --from/--to/--program/--body, not both")
        messages = _read_messages(source)
    else:
        missing = [
            name
            for name, value in {
                "--from": sender_from,
                "--to": to,
                "--program": program,
                "--body": body,
            }.items()
            if value is None
        ]
        if missing:
            _fail(f"{', '.join(missing)}: required (or give a JSON-lines file)")
        one: dict[str, Any] = {"from": sender_from, "to": to, "program": program, "body": body}
        if at is not None:
            one["at"] = at
        if category is not None:
            one["category"] = category
        messages = [(1, one)]
    requests = [_send_request(line, message) for line, message in messages]
    service = _service(database)
    target = _tenant(service, tenant)
    items: list[BatchItem] = []
    for start in range(0, len(requests), MAX_BATCH):
        chunk = requests[start : start + MAX_BATCH]
        if record:
            # Everything must be valid before anything is recorded.
            _fail_on_errors(service.check_batch(target, chunk), messages, start)
        results = service.check_batch(target, chunk, record=record)
        _fail_on_errors(results, messages, start)
        items.extend(replace(item, index=item.index + start) for item in results)
    _print_decisions(items, messages, as_json)
    if any(item.decision is not None and not item.decision.allowed for item in items):
        raise typer.Exit(1)


def _read_messages(source: str) -> list[tuple[int, dict[str, Any]]]:
    if source == "-":
        lines = sys.stdin.read().splitlines()
    elif source.lstrip().startswith("{"):
        lines = [source]
    else:
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            _fail(f"{source}: cannot read ({error.strerror})")
    messages: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError as error:
            _fail(f"line {number}: not JSON ({error.msg})")
        if not isinstance(message, dict):
            _fail(f"line {number}: expected a JSON object with from, to, program, body")
        unknown = sorted(set(message) - _MESSAGE_FIELDS)
        if unknown:
            _fail(f"line {number}: {unknown[0]}: unknown field")
        messages.append((number, message))
    if not messages:
        _fail("no message given")
    return messages


def _send_request(line: int, message: dict[str, Any]) -> SendRequest:
    for name in ("from", "to", "program", "body"):
        if not isinstance(message.get(name), str) or not message[name].strip():
            _fail(f"line {line}: {name}: required (a non-empty string)")
    when = message.get("at")
    moment = None
    if when is not None:
        try:
            moment = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            _fail(f"line {line}: at: {when!r} is not an ISO 8601 time")
        if moment.tzinfo is None:
            _fail(f"line {line}: at: must include a time zone, e.g. 2026-11-23T15:00:00Z")
    return SendRequest(
        message["from"],
        message["to"],
        message["program"],
        message["body"],
        moment,
        message.get("category"),
    )


def _fail_on_errors(
    items: Sequence[BatchItem], messages: Sequence[tuple[int, dict[str, Any]]], start: int
) -> None:
    for item in items:
        if item.error is not None:
            line = messages[start + item.index][0]
            field = f"{item.error.field}: " if item.error.field else ""
            _fail(f"line {line}: {field}{item.error.message}")


def _print_decisions(
    items: Sequence[BatchItem], messages: Sequence[tuple[int, dict[str, Any]]], as_json: bool
) -> None:
    if as_json:
        for item in items:
            assert item.decision is not None
            payload = {"line": messages[item.index][0], **decision_json(item.decision)}
            if item.send_id is not None:
                payload["send_id"] = item.send_id
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        return
    table = Table("line", "to", "action", "findings")
    for item in items:
        assert item.decision is not None
        decision = item.decision
        action = decision.action.value + (
            f" until {decision.defer_until.isoformat()}" if decision.defer_until else ""
        )
        findings = "\n".join(
            f"{f.rule_id} ({f.severity.value}): {f.message}"
            for f in decision.findings
            if f.severity.value != "info"
        )
        line, message = messages[item.index]
        table.add_row(str(line), str(message["to"]), action, findings or "-")
    out.print(table)


@rules_app.command("list")
def rules_list(
    as_json: JsonOption = False,
    markdown: Annotated[bool, typer.Option(help="Print the Markdown catalogue page.")] = False,
) -> None:
    """The rule catalogue: id, severity, what it checks, and its source."""
    rules = list(catalogue().rules.values())
    if markdown:
        sys.stdout.write(catalogue_markdown())
        return
    if as_json:
        _print_json([asdict(rule) for rule in rules])
        return
    table = Table("id", "severity", "checks", "source")
    for rule in rules:
        table.add_row(rule.id, rule.severity, rule.checks, rule.citation)
    out.print(table)


@decisions_app.command("list")
def decisions_list(
    rule: Annotated[
        str | None, typer.Option("--rule", help="Only refusals by this rule id.")
    ] = None,
    recipient: Annotated[str | None, typer.Option(help="Only messages to this number.")] = None,
    action: Annotated[str | None, typer.Option(help="block | defer")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1-1000).")] = 50,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refused messages, newest first. Example: consentry decisions list --rule OPTOUT-ACTIVE"""
    service = _service(database)
    target = _tenant(service, tenant)
    logged = _run(
        lambda: service.list_decisions(
            target, rule_id=rule, recipient=recipient, action=action, limit=limit
        )
    )
    if as_json:
        _print_json([{**asdict(d), "rule_ids": d.rule_ids} for d in logged])
        return
    _table_or_json(
        [
            {
                "decided_at": d.decided_at.isoformat(timespec="seconds"),
                "recipient": d.recipient,
                "sender": d.sender,
                "action": d.action,
                "rules": ", ".join(d.rule_ids),
            }
            for d in logged
        ],
        False,
    )


# -- lint --------------------------------------------------------------------------------------


@app.command("lint")
def lint_command(
    kind: Annotated[str, typer.Argument(help="cta | terms | privacy | template")],
    source: Annotated[str, typer.Argument(help="The file to check ('-': standard input).")],
    template: Annotated[
        str | None,
        typer.Option(
            help="For template: opt_in_confirmation | opt_out_confirmation | help_reply | "
            "first_message | reminder"
        ),
    ] = None,
    brand: Annotated[str | None, typer.Option(help="The brand name the text should carry.")] = None,
    program: Annotated[str | None, typer.Option(help="The program name.")] = None,
    category: Annotated[str, typer.Option(help="The program's category.")] = "marketing",
    support_contact: Annotated[str | None, typer.Option(help="E-mail, phone or URL.")] = None,
    html: Annotated[
        bool | None, typer.Option("--html/--text", help="Default: detected from the text.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check opt-in copy. Exit 0: compliant; 1: a blocking finding; 2: bad input.

    Example: consentry lint cta signup.html --brand "Demo Coffee" --json
    """
    from consentry.domain.cta import LintContext, lint, report_json

    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            _fail(f"{source}: cannot read ({getattr(error, 'strerror', None) or error})")
    context = LintContext(
        brand=brand,
        program=program,
        category=category,
        support_contact=support_contact,
        template=template,
    )
    report = _run(lambda: lint(kind, text, context, html=html))
    if as_json:
        _print_json(report_json(report))
    else:
        table = Table("id", "severity", "message", "fix")
        for finding in report.findings:
            table.add_row(finding.id, finding.severity, finding.message, finding.fix)
        if report.findings:
            out.print(table)
        out.print(f"{report.kind}: score {report.score}/100, {len(report.findings)} finding(s)")
    if report.blocking:
        raise typer.Exit(1)
