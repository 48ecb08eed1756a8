"""Provider secrets are encrypted at rest (Fernet), on SQLite and PostgreSQL: the raw table never
holds them in plaintext, older plaintext values still work and get sealed, and a wrong key says
so clearly."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from consentry import Consentry, Tenant
from consentry.secrets_at_rest import (
    KEY_ENV,
    KEY_FILE_ENV,
    KEY_SUFFIX,
    SecretBox,
    SecretKeyError,
    load_box,
)
from consentry.store.tables import provider_settings
from tests.integration.helpers import create_registry, inbound
from tests.providers.conftest import AWS_KEY_ID, AWS_SECRET, AZURE_KEY

TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "0" * 32
WEBHOOK_SECRET = "azure-webhook-" + "s3cr3t_Value.~" * 2
CONNECTION = f"endpoint=https://acs.example.com/;accesskey={AZURE_KEY}"
TOPIC = "arn:aws:sns:us-west-2:123456789012:consentry-inbound"
SENDER = "+12065550100"


def _raw(service: Consentry, tenant: Tenant) -> dict[str, str]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            sa.select(provider_settings.c.provider, provider_settings.c.secret).where(
                provider_settings.c.tenant_id == tenant.id
            )
        ).all()
    return {row.provider: row.secret for row in rows}


def _configure_all(client: httpx.Client) -> None:
    for provider, body in (
        ("twilio", {"auth_token": TOKEN, "account_sid": ACCOUNT}),
        ("azure", {"webhook_secret": WEBHOOK_SECRET, "connection_string": CONNECTION}),
        (
            "aws",
            {
                "topic_arn": TOPIC,
                "region": "us-west-2",
                "access_key_id": AWS_KEY_ID,
                "secret_access_key": AWS_SECRET,
            },
        ),
    ):
        response = client.put(f"/v1/providers/{provider}", json=body)
        assert response.status_code == 200, response.text


def test_the_raw_table_holds_no_secret_in_plaintext(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    _configure_all(client)
    raw = _raw(service, tenant)
    assert set(raw) == {"twilio", "azure", "aws"}
    everything = " ".join(raw.values())
    for secret in (TOKEN, WEBHOOK_SECRET, AZURE_KEY, AWS_SECRET, "accesskey"):
        assert secret not in everything
    assert all(value.startswith("fernet:") for value in raw.values())
    # ... yet the service reads them back.
    assert service.provider_secret(tenant, "twilio")[1] == TOKEN
    assert service.provider_secrets(tenant, "azure")[1] == {
        "webhook_secret": WEBHOOK_SECRET,
        "connection_string": CONNECTION,
    }
    assert service.provider_secrets(tenant, "aws")[1] == {"secret_access_key": AWS_SECRET}


def test_a_legacy_plaintext_secret_still_works_and_is_sealed_when_read(
    service: Consentry, client: httpx.Client, tenant: Tenant
) -> None:
    _configure_all(client)
    with service.engine.begin() as conn:
        conn.execute(
            sa.update(provider_settings)
            .where(
                provider_settings.c.tenant_id == tenant.id,
                provider_settings.c.provider == "twilio",
            )
            .values(secret=TOKEN)
        )
    assert _raw(service, tenant)["twilio"] == TOKEN
    assert service.provider_secret(tenant, "twilio")[1] == TOKEN
    sealed = _raw(service, tenant)["twilio"]
    assert sealed.startswith("fernet:") and TOKEN not in sealed
    assert service.provider_secret(tenant, "twilio")[1] == TOKEN
    # Updating other settings keeps the secret (and it stays sealed).
    kept = client.put("/v1/providers/twilio", json={"account_sid": ACCOUNT})
    assert kept.status_code == 200 and service.provider_secret(tenant, "twilio")[1] == TOKEN


def test_a_wrong_key_gives_a_clear_error(
    database_url: str,
    service: Consentry,
    client: httpx.Client,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _configure_all(client)
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    other = Consentry(database_url)
    try:
        with pytest.raises(SecretKeyError) as raised:
            other.provider_secret(tenant, "twilio")
        assert "another key" in raised.value.message and KEY_ENV in raised.value.message
        assert TOKEN not in raised.value.message
    finally:
        other.close()
    monkeypatch.setenv(KEY_ENV, "not-a-key")
    broken = Consentry(database_url)
    try:
        with pytest.raises(SecretKeyError, match="not a Fernet key"):
            broken.provider_secret(tenant, "twilio")
    finally:
        broken.close()


def test_the_embedded_default_generates_a_private_key_file_next_to_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    database = tmp_path / "consentry.db"
    box = load_box(str(database))
    key_file = Path(str(database) + KEY_SUFFIX)
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = box.seal("s3cret")
    assert load_box(str(database)).open(sealed) == "s3cret"  # the same key, read back
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    assert load_box(None).open(sealed) == "s3cret"
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "missing"))
    with pytest.raises(SecretKeyError, match="cannot be read"):
        load_box(None)


def test_sealing_is_randomised_and_tamper_evident() -> None:
    box = SecretBox(Fernet.generate_key())
    first, second = box.seal("same"), box.seal("same")
    assert first != second and box.open(first) == box.open(second) == "same"
    tampered = first[:-4] + ("AAAA" if not first.endswith("AAAA") else "BBBB")
    with pytest.raises(SecretKeyError):
        box.open(tampered)
    assert box.open("legacy plaintext") == "legacy plaintext"


def test_delivery_with_a_wrong_key_waits_for_the_right_one(
    database_url: str,
    client: httpx.Client,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_registry(client, sender=SENDER)
    _configure_all(client)
    inbound(client, "+14255550168", SENDER, "HELP")
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    other = Consentry(database_url)
    try:
        assert other.deliver_outbox(tenant=tenant).retried == 1
    finally:
        other.close()
    [row] = client.get("/v1/outbox").json()
    assert row["status"] == "queued" and "another key" in row["last_error"]
