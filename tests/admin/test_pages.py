"""The console's pages over a real HTTP server, on SQLite and PostgreSQL: recipient look-up,
opt-out and opt-in on a customer's request (with the note in the ledger), proof download,
opt-out search and export, inbound replies, the review queue and the audit chain."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from consentry import Consentry, proof
from consentry.store.tables import consent_events
from tests.admin.conftest import SENDER, Account, csrf_of, signed_in

CTA = "Acme alerts: order updates. Msg&data rates may apply. Reply STOP to cancel."
NUMBER = "+14255550120"


def _events(service: Consentry, account: Account, number: str) -> list[dict[str, object]]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            sa.select(consent_events)
            .where(
                consent_events.c.tenant_id == account.tenant.id,
                consent_events.c.recipient == number,
            )
            .order_by(consent_events.c.seq)
        ).mappings()
        return [dict(row) for row in rows]


def test_look_up_redirects_to_the_number_in_e164(base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    with signed_in(base_url, account, "agent") as http:
        found = http.get(f"/admin/{slug}/recipients", params={"number": "(425) 555-0120"})
        assert found.status_code == 303
        assert found.headers["location"] == f"/admin/{slug}/recipients/{quote(NUMBER)}"
        bad = http.get(f"/admin/{slug}/recipients", params={"number": "12"})
        assert bad.status_code == 422 and "Enter a valid phone number" in bad.text
        assert http.get(f"/admin/{slug}/recipients/{NUMBER}").status_code == 404  # no records


def test_agent_opts_a_customer_out_with_a_note(
    service: Consentry, base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    service.record_consent(
        account.tenant, NUMBER, account.program.id, medium="web_form", disclosure_text=CTA
    )
    with signed_in(base_url, account, "agent") as http:
        page = http.get(f"/admin/{slug}/recipients/{NUMBER}")
        assert page.status_code == 200
        assert "active" in page.text and "Acme alerts" in page.text
        form = {"csrf_token": csrf_of(page.text), "scope": f"program:{account.program.id}"}
        missing = http.post(f"/admin/{slug}/recipients/{NUMBER}/opt-out", data=form)
        assert missing.status_code == 422 and "a note is required" in missing.text
        assert len(_events(service, account, NUMBER)) == 1  # nothing recorded without a note
        note = "Customer called: please stop the order texts"
        done = http.post(f"/admin/{slug}/recipients/{NUMBER}/opt-out", data={**form, "note": note})
        assert done.status_code == 303
        after = http.get(done.headers["location"])
        assert "Opt-out recorded." in after.text and note in after.text
    added = [e for e in _events(service, account, NUMBER) if e["kind"] == "opt_out_added"]
    assert len(added) == 1
    assert added[0]["source"] == "console"
    assert added[0]["actor"] == f"console:{account.emails['agent']}"
    assert added[0]["reason"] == note
    assert added[0]["scope_kind"] == "program"
    assert service.check_optouts(account.tenant, [NUMBER], sender=SENDER)[0].opted_out


def test_agent_records_a_verbal_opt_in_with_a_note(
    service: Consentry, base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    service.add_optouts(account.tenant, [NUMBER], sender=SENDER)  # so the number has a record
    with signed_in(base_url, account, "agent") as http:
        page = http.get(f"/admin/{slug}/recipients/{NUMBER}")
        data = {"csrf_token": csrf_of(page.text), "program": account.program.id}
        assert http.post(f"/admin/{slug}/recipients/{NUMBER}/opt-in", data=data).status_code == 422
        note = "Customer asked on the phone to get order updates again"
        done = http.post(f"/admin/{slug}/recipients/{NUMBER}/opt-in", data={**data, "note": note})
        assert done.status_code == 303
    [granted] = [e for e in _events(service, account, NUMBER) if e["kind"] == "consent_granted"]
    assert granted["medium"] == "verbal" and granted["level"] == "express"
    assert granted["actor"] == f"console:{account.emails['agent']}"
    assert isinstance(granted["evidence"], dict) and granted["evidence"]["note"] == note


def test_proof_bundle_downloads_check_out(
    service: Consentry, base_url: str, account: Account
) -> None:
    slug = account.tenant.slug
    service.record_consent(
        account.tenant, NUMBER, account.program.id, medium="web_form", disclosure_text=CTA
    )
    service.receive_inbound(account.tenant, SENDER, NUMBER, "STOP")
    with signed_in(base_url, account, "auditor") as http:
        bundle = http.get(f"/admin/{slug}/recipients/{NUMBER}/proof.json")
        assert bundle.status_code == 200
        assert bundle.headers["cache-control"] == "no-store"  # personal data: never cached
        assert "attachment" in bundle.headers["content-disposition"]
        assert bundle.json()["events"][0]["kind"] == "consent_granted"
        assert proof.check(bundle.json()) == []
        page = http.get(f"/admin/{slug}/recipients/{NUMBER}/proof.html")
        assert page.status_code == 200 and NUMBER in page.text


def test_opt_out_search_add_and_export(service: Consentry, base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    service.add_optouts(account.tenant, ["+14255550131", "+14255550132"], sender=SENDER)
    with signed_in(base_url, account, "admin") as http:
        page = http.get(f"/admin/{slug}/optouts", params={"q": "555-0131"})
        assert "+14255550131" in page.text and "+14255550132" not in page.text
        added = http.post(
            f"/admin/{slug}/optouts",
            data={
                "csrf_token": csrf_of(page.text),
                "number": "425 555 0133",
                "scope": f"brand:{account.brand.id}",
                "note": "asked by e-mail",
            },
        )
        assert added.status_code == 303
        exported = http.get(f"/admin/{slug}/optouts.csv")
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["phone"] for r in rows) == ["+14255550131", "+14255550132", "+14255550133"]
    assert {r["scope"] for r in rows} == {f"sender:{SENDER}", f"brand:{account.brand.id}"}
    assert len(rows) == service.count_optouts(account.tenant)


@pytest.mark.parametrize("decision", ["opt_out", "not_a_revocation"])
def test_review_queue_is_decided_by_an_admin(
    service: Consentry, base_url: str, account: Account, decision: str
) -> None:
    slug = account.tenant.slug
    held = service.receive_inbound(account.tenant, SENDER, NUMBER, "wrong number")
    assert held.needs_review
    with signed_in(base_url, account, "admin") as http:
        listed = http.get(f"/admin/{slug}/inbound")
        assert "ambiguous" in listed.text and "wrong number" in listed.text
        queue = http.get(f"/admin/{slug}/review")
        assert held.inbound_id in queue.text
        token = csrf_of(queue.text)
        url = f"/admin/{slug}/review/{held.inbound_id}"
        assert http.post(url, data={"csrf_token": token, "decision": decision}).status_code == 303
        assert held.inbound_id not in http.get(f"/admin/{slug}/review").text
        again = http.post(url, data={"csrf_token": token, "decision": decision})
        assert again.status_code == 409
        one = http.get(f"/admin/{slug}/inbound/{held.inbound_id}")
        assert f"{decision} by console:{account.emails['admin']}" in one.text
    opted_out = service.check_optouts(account.tenant, [NUMBER], sender=SENDER)[0].opted_out
    assert opted_out is (decision == "opt_out")


def test_audit_page_reports_the_chain(service: Consentry, base_url: str, account: Account) -> None:
    service.add_optouts(account.tenant, ["+14255550141", "+14255550142"], sender=SENDER)
    with signed_in(base_url, account, "auditor") as http:
        page = http.get(f"/admin/{account.tenant.slug}/audit")
    assert "Intact: 2 ledger events" in page.text


def test_every_page_renders_for_every_role(base_url: str, account: Account) -> None:
    slug = account.tenant.slug
    for role in ("admin", "agent", "auditor"):
        with signed_in(base_url, account, role) as http:
            for path in (
                "/",
                "/recipients",
                "/optouts",
                "/inbound",
                "/review",
                "/audit",
                "/registry",
                "/copy",
            ):
                response = http.get(f"/admin/{slug}{path}")
                assert response.status_code == 200, (role, path)
                assert response.headers["x-frame-options"] == "DENY"
                writes = 'method="post" action="/admin/' + slug + '/optouts"'
                assert (writes in response.text) is (path == "/optouts" and role != "auditor")


def test_landing_page_goes_to_the_accounts_log_in(http: httpx.Client, account: Account) -> None:
    assert http.get("/admin").status_code == 200
    go = http.get("/admin/login", params={"tenant": account.tenant.slug})
    assert go.headers["location"] == f"/admin/{account.tenant.slug}/login"
    assert http.get("/admin/login", params={"tenant": "../etc"}).status_code == 404
