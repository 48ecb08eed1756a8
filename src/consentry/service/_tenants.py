"""Tenants and their API keys (stored hashed; returned once)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from consentry.domain.model import (
    Tenant,
)
from consentry.domain.numbers import normalize_region
from consentry.errors import AuthenticationError, Conflict, NotFound
from consentry.identifiers import new_id, slugify
from consentry.service._base import ServiceBase
from consentry.service._checks import (
    required_text,
    valid_slug,
)
from consentry.store import (
    ledger,
    registry,
)

_KEY_PREFIX = "csk"


class TenantsLayer(ServiceBase):
    """Tenants and their API keys (stored hashed; returned once)."""

    def create_tenant(
        self, name: str, *, slug: str | None = None, default_region: str = "US"
    ) -> tuple[Tenant, str]:
        """Create a tenant and its first API key; the key is returned once and stored hashed."""
        name = required_text(name, "name", 200)
        slug = valid_slug(slug if slug is not None else slugify(name), "slug")
        tenant = Tenant(
            id=new_id("tnt"),
            slug=slug,
            name=name,
            default_region=normalize_region(default_region),
            created_at=self.now(),
        )
        with self.engine.begin() as conn:
            if registry.find_tenant(conn, slug) is not None:
                raise Conflict(f"a tenant with slug {slug!r} already exists", field="slug")
            registry.insert_tenant(conn, tenant)
            ledger.create_head(conn, tenant.id)
            api_key = self._insert_key(conn, tenant.id, "initial")
        return tenant, api_key

    def issue_api_key(self, tenant: Tenant, label: str | None = None) -> str:
        """Issue another API key for ``tenant`` (for rotation); returned once, stored hashed."""
        with self.engine.begin() as conn:
            return self._insert_key(conn, tenant.id, label)

    def revoke_api_key(self, tenant: Tenant, key_id: str) -> None:
        """Revoke one of the tenant's keys by its id (the second part of the key)."""
        with self.engine.begin() as conn:
            if not registry.revoke_api_key(conn, tenant.id, key_id, self.now()):
                raise NotFound(f"no active API key {key_id!r}", field="key_id")

    def _insert_key(self, conn: sa.Connection, tenant_id: str, label: str | None) -> str:
        key_id = new_id("key")
        secret = secrets.token_urlsafe(32)
        registry.insert_api_key(conn, tenant_id, key_id, _secret_hash(secret), label, self.now())
        return f"{_KEY_PREFIX}.{tenant_id}.{key_id}.{secret}"

    def authenticate(self, api_key: str) -> Tenant:
        """The tenant an API key belongs to, or :class:`AuthenticationError`."""
        parts = api_key.split(".") if isinstance(api_key, str) else []
        if len(parts) != 4 or parts[0] != _KEY_PREFIX:
            raise AuthenticationError("malformed API key")
        _, tenant_id, key_id, secret = parts
        with self._read() as conn:
            stored = registry.active_key_hash(conn, tenant_id, key_id)
            if stored is None or not hmac.compare_digest(stored, _secret_hash(secret)):
                raise AuthenticationError("unknown or revoked API key")
            tenant = registry.find_tenant(conn, tenant_id)
        if tenant is None or tenant.id != tenant_id:
            raise AuthenticationError("unknown or revoked API key")
        return tenant

    def get_tenant(self, ref: str) -> Tenant:
        """A tenant by id or slug (for the operator's CLI; the HTTP API authenticates instead)."""
        with self._read() as conn:
            tenant = registry.find_tenant(conn, ref)
        if tenant is None:
            raise NotFound(f"no tenant {ref!r}", field="tenant")
        return tenant

    def list_tenants(self) -> list[Tenant]:
        with self._read() as conn:
            return registry.list_tenants(conn)


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
