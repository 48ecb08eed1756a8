"""The decisions log's background writer: nothing queued is lost at flush or close."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from consentry import Consentry
from consentry.store.tables import decisions

SENDER = "+12065550100"
BODY = "Acme: your order shipped. Reply STOP to opt out."


def _stored(engine: sa.Engine, tenant_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(decisions)
            .where(decisions.c.tenant_id == tenant_id)
        ).scalar_one()


def _refusing_service(database_url: str) -> tuple[Consentry, str]:
    app = Consentry(database_url)
    tenant, _ = app.create_tenant("Log", slug=f"log-{secrets.token_hex(4)}")
    brand = app.create_brand(tenant, "Acme", "help@acme.example")
    app.create_program(tenant, brand.id, "Alerts", slug="alerts")
    app.create_sender(tenant, SENDER, "long_code", programs=["alerts"], verified=True)
    for n in range(25):  # no consent: every one is refused
        assert not app.check_send(tenant, SENDER, f"+1425555{n:04d}", "alerts", BODY).allowed
    return app, tenant.id


def test_flush_stores_every_refusal_made_so_far(service: Consentry) -> None:
    app, tenant_id = _refusing_service(service.database_url)
    try:
        app.flush_decisions()
        assert _stored(service.engine, tenant_id) == 25
    finally:
        app.close()


def test_close_stores_what_is_still_queued(service: Consentry) -> None:
    app, tenant_id = _refusing_service(service.database_url)
    app.close()  # no flush first
    assert _stored(service.engine, tenant_id) == 25
