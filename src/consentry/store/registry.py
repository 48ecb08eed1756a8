"""Reads and writes of the registry: tenants, API keys, brands, programs and senders.

Every function takes the tenant id (but :func:`find_tenant`) and filters on it: a brand, program
or sender of another tenant is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Brand, Program, ScopeKind, Sender, SenderKind, Tenant
from consentry.store.tables import api_keys, brands, programs, sender_programs, senders, tenants


def insert_tenant(conn: sa.Connection, tenant: Tenant) -> None:
    conn.execute(
        sa.insert(tenants).values(
            tenant_id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            default_region=tenant.default_region,
            created_at=tenant.created_at,
        )
    )


def find_tenant(conn: sa.Connection, ref: str) -> Tenant | None:
    """The tenant whose id or slug is ``ref`` (the one lookup not scoped to a tenant)."""
    row = conn.execute(
        sa.select(tenants).where(sa.or_(tenants.c.tenant_id == ref, tenants.c.slug == ref))
    ).first()
    return _tenant(row) if row else None


def list_tenants(conn: sa.Connection) -> list[Tenant]:
    return [_tenant(row) for row in conn.execute(sa.select(tenants).order_by(tenants.c.created_at))]


def insert_api_key(
    conn: sa.Connection,
    tenant_id: str,
    key_id: str,
    secret_hash: str,
    label: str | None,
    now: datetime,
) -> None:
    conn.execute(
        sa.insert(api_keys).values(
            tenant_id=tenant_id, key_id=key_id, secret_hash=secret_hash, label=label, created_at=now
        )
    )


def active_key_hash(conn: sa.Connection, tenant_id: str, key_id: str) -> str | None:
    """The stored secret hash of an unrevoked key, or None."""
    return conn.execute(
        sa.select(api_keys.c.secret_hash).where(
            api_keys.c.tenant_id == tenant_id,
            api_keys.c.key_id == key_id,
            api_keys.c.revoked_at.is_(None),
        )
    ).scalar_one_or_none()


def revoke_api_key(conn: sa.Connection, tenant_id: str, key_id: str, now: datetime) -> bool:
    result = conn.execute(
        sa.update(api_keys)
        .where(
            api_keys.c.tenant_id == tenant_id,
            api_keys.c.key_id == key_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def insert_brand(conn: sa.Connection, brand: Brand) -> None:
    conn.execute(
        sa.insert(brands).values(
            tenant_id=brand.tenant_id,
            brand_id=brand.id,
            slug=brand.slug,
            name=brand.name,
            support_contact=brand.support_contact,
            support_phone=brand.support_phone,
            created_at=brand.created_at,
            terms_url=brand.terms_url,
            privacy_url=brand.privacy_url,
        )
    )


def find_brand(conn: sa.Connection, tenant_id: str, ref: str) -> Brand | None:
    row = conn.execute(
        sa.select(brands).where(
            brands.c.tenant_id == tenant_id, sa.or_(brands.c.brand_id == ref, brands.c.slug == ref)
        )
    ).first()
    return _brand(row) if row else None


def list_brands(conn: sa.Connection, tenant_id: str) -> list[Brand]:
    query = sa.select(brands).where(brands.c.tenant_id == tenant_id).order_by(brands.c.created_at)
    return [_brand(row) for row in conn.execute(query)]


def insert_program(conn: sa.Connection, program: Program) -> None:
    conn.execute(
        sa.insert(programs).values(
            tenant_id=program.tenant_id,
            program_id=program.id,
            brand_id=program.brand_id,
            slug=program.slug,
            name=program.name,
            category=program.category,
            opt_out_scope=program.opt_out_scope.value,
            help_reply=program.help_reply,
            opt_out_reply=program.opt_out_reply,
            opt_in_reply=program.opt_in_reply,
            created_at=program.created_at,
            use_case=program.use_case,
            description=program.description,
            frequency=program.frequency,
            consent_level=program.consent_level,
            double_opt_in=program.double_opt_in,
            pending_expiry_hours=program.pending_expiry_hours,
            reconfirm_after_days=program.reconfirm_after_days,
            reconfirm_idle_days=program.reconfirm_idle_days,
            age_gated=program.age_gated,
            block_shorteners=program.block_shorteners,
            purpose=program.purpose,
            one_way=program.one_way,
        )
    )


def find_program(conn: sa.Connection, tenant_id: str, ref: str) -> Program | None:
    row = conn.execute(
        sa.select(programs).where(
            programs.c.tenant_id == tenant_id,
            sa.or_(programs.c.program_id == ref, programs.c.slug == ref),
        )
    ).first()
    return _program(row) if row else None


def list_programs(
    conn: sa.Connection,
    tenant_id: str,
    ids: Sequence[str] | None = None,
    *,
    brand_id: str | None = None,
) -> list[Program]:
    """The tenant's programs in the order they were created: all, those of ``ids``, or those
    of one brand."""
    query = sa.select(programs).where(programs.c.tenant_id == tenant_id)
    if ids is not None:
        query = query.where(programs.c.program_id.in_(list(ids)))
    if brand_id is not None:
        query = query.where(programs.c.brand_id == brand_id)
    return [_program(row) for row in conn.execute(query.order_by(programs.c.created_at))]


def insert_sender(conn: sa.Connection, sender: Sender) -> None:
    conn.execute(
        sa.insert(senders).values(
            tenant_id=sender.tenant_id,
            sender_id=sender.id,
            address=sender.address,
            kind=sender.kind.value,
            verified=sender.verified,
            created_at=sender.created_at,
        )
    )
    if sender.program_ids:
        conn.execute(
            sa.insert(sender_programs),
            [
                {"tenant_id": sender.tenant_id, "sender_id": sender.id, "program_id": program_id}
                for program_id in sender.program_ids
            ],
        )


def find_sender(conn: sa.Connection, tenant_id: str, ref: str) -> Sender | None:
    """The sender whose id or normalised address is ``ref``."""
    row = conn.execute(
        sa.select(senders).where(
            senders.c.tenant_id == tenant_id,
            sa.or_(senders.c.sender_id == ref, senders.c.address == ref),
        )
    ).first()
    if row is None:
        return None
    return _sender(row, _program_ids(conn, tenant_id, [row.sender_id]).get(row.sender_id, ()))


def first_sender_of(conn: sa.Connection, tenant_id: str, program_id: str) -> Sender | None:
    """The oldest verified-first sender serving a program: where its confirmations go out from."""
    row = conn.execute(
        sa.select(senders)
        .join(
            sender_programs,
            sa.and_(
                sender_programs.c.tenant_id == senders.c.tenant_id,
                sender_programs.c.sender_id == senders.c.sender_id,
            ),
        )
        .where(senders.c.tenant_id == tenant_id, sender_programs.c.program_id == program_id)
        .order_by(senders.c.verified.desc(), senders.c.created_at)
        .limit(1)
    ).first()
    if row is None:
        return None
    return _sender(row, _program_ids(conn, tenant_id, [row.sender_id]).get(row.sender_id, ()))


def list_senders(conn: sa.Connection, tenant_id: str) -> list[Sender]:
    rows = conn.execute(
        sa.select(senders).where(senders.c.tenant_id == tenant_id).order_by(senders.c.created_at)
    ).all()
    assigned = _program_ids(conn, tenant_id, [row.sender_id for row in rows])
    return [_sender(row, assigned.get(row.sender_id, ())) for row in rows]


def _program_ids(
    conn: sa.Connection, tenant_id: str, sender_ids: list[str]
) -> dict[str, tuple[str, ...]]:
    if not sender_ids:
        return {}
    found: dict[str, list[str]] = {}
    query = (
        sa.select(sender_programs.c.sender_id, sender_programs.c.program_id)
        .where(
            sender_programs.c.tenant_id == tenant_id, sender_programs.c.sender_id.in_(sender_ids)
        )
        .order_by(sender_programs.c.program_id)
    )
    for sender_id, program_id in conn.execute(query):
        found.setdefault(sender_id, []).append(program_id)
    return {key: tuple(value) for key, value in found.items()}


def _tenant(row: Any) -> Tenant:
    return Tenant(
        id=row.tenant_id,
        slug=row.slug,
        name=row.name,
        default_region=row.default_region,
        created_at=row.created_at,
    )


def _brand(row: Any) -> Brand:
    return Brand(
        id=row.brand_id,
        tenant_id=row.tenant_id,
        slug=row.slug,
        name=row.name,
        support_contact=row.support_contact,
        support_phone=row.support_phone,
        created_at=row.created_at,
        terms_url=row.terms_url,
        privacy_url=row.privacy_url,
    )


def _program(row: Any) -> Program:
    return Program(
        id=row.program_id,
        tenant_id=row.tenant_id,
        brand_id=row.brand_id,
        slug=row.slug,
        name=row.name,
        category=row.category,
        opt_out_scope=ScopeKind(row.opt_out_scope),
        help_reply=row.help_reply,
        opt_out_reply=row.opt_out_reply,
        opt_in_reply=row.opt_in_reply,
        created_at=row.created_at,
        use_case=row.use_case,
        description=row.description,
        frequency=row.frequency,
        consent_level=row.consent_level,
        double_opt_in=bool(row.double_opt_in),
        pending_expiry_hours=row.pending_expiry_hours,
        reconfirm_after_days=row.reconfirm_after_days,
        reconfirm_idle_days=row.reconfirm_idle_days,
        age_gated=bool(row.age_gated),
        block_shorteners=bool(row.block_shorteners),
        one_way=bool(row.one_way),
        purpose=row.purpose,
    )


def _sender(row: Any, program_ids: tuple[str, ...]) -> Sender:
    return Sender(
        id=row.sender_id,
        tenant_id=row.tenant_id,
        address=row.address,
        kind=SenderKind(row.kind),
        verified=row.verified,
        program_ids=program_ids,
        created_at=row.created_at,
    )
