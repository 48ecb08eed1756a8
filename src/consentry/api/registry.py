"""Routes of the tenant and its registry: brands, programs, senders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.schemas import (
    BrandIn,
    BrandOut,
    ProgramIn,
    ProgramOut,
    SenderIn,
    SenderOut,
    TenantOut,
)

router = APIRouter(prefix="/v1", tags=["registry"])


@router.get("/tenant")
def get_tenant(tenant: TenantDep) -> TenantOut:
    """The tenant the API key belongs to."""
    return TenantOut.of(tenant)


@router.get("/tenant/settings")
def get_tenant_settings(tenant: TenantDep, app: ServiceDep) -> dict[str, Any]:
    """The tenant's settings (``optout_removal_min_days``, ``revoke_all``)."""
    return app.tenant_settings(tenant)


@router.patch("/tenant/settings")
def update_tenant_settings(
    changes: dict[str, Any], tenant: TenantDep, app: ServiceDep
) -> dict[str, Any]:
    """Change some settings; all are checked before any is stored."""
    return app.update_tenant_settings(tenant, changes)


@router.post("/brands", status_code=201)
def create_brand(body: BrandIn, tenant: TenantDep, app: ServiceDep) -> BrandOut:
    """Register a brand (the identity shown in messages, and the contact for HELP)."""
    brand = app.create_brand(
        tenant,
        body.name,
        body.support_contact,
        support_phone=body.support_phone,
        slug=body.slug,
        terms_url=body.terms_url,
        privacy_url=body.privacy_url,
    )
    return BrandOut.of(brand)


@router.get("/brands")
def list_brands(tenant: TenantDep, app: ServiceDep) -> list[BrandOut]:
    return [BrandOut.of(brand) for brand in app.list_brands(tenant)]


@router.get("/brands/{ref}")
def get_brand(ref: str, tenant: TenantDep, app: ServiceDep) -> BrandOut:
    """A brand by id or slug."""
    return BrandOut.of(app.get_brand(tenant, ref))


@router.post("/programs", status_code=201)
def create_program(body: ProgramIn, tenant: TenantDep, app: ServiceDep) -> ProgramOut:
    """Register a messaging program of a brand, with its STOP / START / HELP replies."""
    program = app.create_program(
        tenant,
        body.brand_id,
        body.name,
        slug=body.slug,
        category=body.category,
        opt_out_scope=body.opt_out_scope.value,
        help_reply=body.help_reply,
        opt_out_reply=body.opt_out_reply,
        opt_in_reply=body.opt_in_reply,
        use_case=body.use_case,
        description=body.description,
        frequency=body.frequency,
        consent_level=body.consent_level,
        double_opt_in=body.double_opt_in,
        pending_expiry_hours=body.pending_expiry_hours,
        reconfirm_after_days=body.reconfirm_after_days,
        reconfirm_idle_days=body.reconfirm_idle_days,
        age_gated=body.age_gated,
        block_shorteners=body.block_shorteners,
        one_way=body.one_way,
        purpose=body.purpose,
    )
    return ProgramOut.of(program)


@router.get("/programs")
def list_programs(tenant: TenantDep, app: ServiceDep) -> list[ProgramOut]:
    return [ProgramOut.of(program) for program in app.list_programs(tenant)]


@router.get("/programs/{ref}")
def get_program(ref: str, tenant: TenantDep, app: ServiceDep) -> ProgramOut:
    """A program by id or slug."""
    return ProgramOut.of(app.get_program(tenant, ref))


@router.post("/senders", status_code=201)
def create_sender(body: SenderIn, tenant: TenantDep, app: ServiceDep) -> SenderOut:
    """Register a sender address and the programs it serves."""
    sender = app.create_sender(
        tenant, body.address, body.kind, programs=body.program_ids, verified=body.verified
    )
    return SenderOut.of(sender)


@router.get("/senders")
def list_senders(tenant: TenantDep, app: ServiceDep) -> list[SenderOut]:
    return [SenderOut.of(sender) for sender in app.list_senders(tenant)]


@router.get("/senders/{ref}")
def get_sender(ref: str, tenant: TenantDep, app: ServiceDep) -> SenderOut:
    """A sender by id or address."""
    return SenderOut.of(app.get_sender(tenant, ref))
