"""The decisions log over HTTP on SQLite and PostgreSQL: every refusal is kept with its rules
and citations, allowed messages are not, filters work, counts match, tenants stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from consentry import Consentry
from tests.integration.helpers import create_registry, inbound
from tests.integration.test_send_gate import BODY, NY, SENDER, _afternoon, _consent, check

OPTED_OUT = "+12125550140"
NO_CONSENT = "+12125550141"


def _night() -> datetime:
    """Tomorrow at 23:00 in New York: federal quiet hours for marketing."""
    day = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, 23, tzinfo=ZoneInfo("America/New_York"))


def _logged(client: httpx.Client, **query: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/decisions", params=query)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_refusals_are_logged_with_rules_and_citations_allowed_ones_are_not(
    client: httpx.Client,
) -> None:
    create_registry(client, sender=SENDER, category="marketing", frequency="4/month")
    for number in (NY, OPTED_OUT):
        _consent(client, number)
    inbound(client, OPTED_OUT, SENDER, "STOP")
    assert check(client, at=_afternoon())["allowed"] is True
    assert check(client, to=OPTED_OUT, at=_afternoon())["action"] == "block"
    assert check(client, to=NO_CONSENT, at=_afternoon())["action"] == "block"
    deferred = check(client, at=_night())
    assert deferred["action"] == "defer"

    logged = _logged(client)
    assert len(logged) == 3  # the allowed message is a send, not a log entry
    assert {d["recipient"] for d in logged} == {OPTED_OUT, NO_CONSENT, NY}
    [stopped] = _logged(client, rule_id="OPTOUT-ACTIVE")
    assert stopped["recipient"] == OPTED_OUT and stopped["action"] == "block"
    assert "OPTOUT-ACTIVE" in stopped["rule_ids"]
    finding = next(f for f in stopped["findings"] if f["rule_id"] == "OPTOUT-ACTIVE")
    assert finding["severity"] == "block" and finding["citation"]
    # STOP also revoked that number's consent: both refusals name CONSENT-MISSING.
    without_consent = _logged(client, rule_id="CONSENT-MISSING")
    assert {d["recipient"] for d in without_consent} == {OPTED_OUT, NO_CONSENT}
    [missing] = [d for d in without_consent if d["recipient"] == NO_CONSENT]
    [night] = _logged(client, action="defer")
    assert night["recipient"] == NY and night["defer_until"] is not None
    assert _logged(client, recipient="(212) 555-0141")[0]["id"] == missing["id"]
    assert "body" not in stopped  # the log never keeps message text

    counts = client.get("/v1/reports/decisions-per-rule", params={"days": 7}).json()
    per_rule: dict[str, int] = {}
    for row in counts:
        per_rule[row["rule_id"]] = per_rule.get(row["rule_id"], 0) + row["refused"]
    expected: dict[str, int] = {}
    for decision in logged:
        for rule_id in decision["rule_ids"]:
            expected[rule_id] = expected.get(rule_id, 0) + 1
    assert per_rule == expected
    assert per_rule["OPTOUT-ACTIVE"] == 1


def test_a_batch_logs_each_refusal_once(client: httpx.Client) -> None:
    create_registry(client, sender=SENDER)
    numbers = [f"+1212555{n:04d}" for n in range(200, 230)]
    for number in numbers[:10]:
        _consent(client, number)
    messages = [
        {
            "from": SENDER,
            "to": number,
            "program": "alerts",
            "body": BODY,
            "at": _afternoon().isoformat(),
        }
        for number in numbers
    ]
    response = client.post("/v1/messages:check-batch", json={"messages": messages})
    assert response.status_code == 200, response.text
    refused = [r for r in response.json()["results"] if not r["decision"]["allowed"]]
    assert len(refused) == 20
    logged = _logged(client, limit=1000)
    assert sorted(d["recipient"] for d in logged) == sorted(numbers[10:])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"rule_id": "NO-SUCH-RULE"}, "rule_id"),
        ({"action": "send"}, "action"),
        ({"limit": 0}, "limit"),
        ({"recipient": "not a number"}, "recipient"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"since": "0.0"}, "since"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_filters_are_refused_with_the_field(
    client: httpx.Client, query: dict[str, Any], field: str
) -> None:
    response = client.get("/v1/decisions", params=query)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_another_tenants_refusals_are_invisible(
    client: httpx.Client, service: Consentry, base_url: str
) -> None:
    create_registry(client, sender=SENDER)
    check(client, to=NO_CONSENT, at=_afternoon())
    assert len(_logged(client)) == 1
    _, other_key = service.create_tenant("Other", slug=f"other-{datetime.now(UTC):%H%M%S%f}")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {other_key}"}) as other:
        assert other.get("/v1/decisions").json() == []
        assert other.get("/v1/reports/decisions-per-rule").json() == []
