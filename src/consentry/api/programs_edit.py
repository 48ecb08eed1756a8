"""Editing the registry (issue #8): ``PATCH /v1/programs/{ref}``, ``/v1/brands/{ref}`` and
``/v1/senders/{ref}`` change some settings; ``GET /v1/registry-changes`` is the history of those
changes (who changed which setting, when, old and new value)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, StrictBool, StrictInt

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.schemas import BrandOut, ProgramOut, SenderOut, Strict
from consentry.domain.model import ScopeKind
from consentry.errors import InvalidInput
from consentry.store.registry_changes import MAX_LISTED, RegistryChange

router = APIRouter(prefix="/v1", tags=["registry"])


def api_actor(request: Request, _tenant: TenantDep) -> str:
    """How the change history names the caller: ``api-key:<key id>`` (the key is already
    authenticated by the tenant dependency; its secret is never recorded)."""
    credentials = request.headers.get("authorization", "").partition(" ")[2].strip()
    parts = credentials.split(".")
    return f"api-key:{parts[2]}" if len(parts) == 4 else "api"


ActorDep = Annotated[str, Depends(api_actor)]


def _changes(body: BaseModel) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change: give at least one field")
    return changes


class ProgramChanges(Strict):
    """The settings to change; a field left out keeps its value, ``null`` clears an optional
    text (a keyword reply falls back to the default one) or resets a setting to its default.
    The id, slug and brand never change."""

    name: str = Field(default="", min_length=1, max_length=200)
    category: Literal["marketing", "informational", "transactional", "conversational"] = (
        "informational"
    )
    purpose: Literal["marketing", "notifications"] | None = None
    opt_out_scope: ScopeKind = ScopeKind.PROGRAM
    help_reply: str | None = Field(default=None, max_length=480)
    opt_out_reply: str | None = Field(default=None, max_length=480)
    opt_in_reply: str | None = Field(default=None, max_length=480)
    use_case: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=1000)
    frequency: str | None = Field(default=None, max_length=200)
    consent_level: Literal["implied", "express", "express_written"] | None = None
    double_opt_in: StrictBool = False
    pending_expiry_hours: StrictInt | None = Field(default=None, ge=1, le=36_500)
    reconfirm_after_days: StrictInt | None = Field(default=None, ge=1, le=36_500)
    reconfirm_idle_days: StrictInt | None = Field(default=None, ge=1, le=36_500)
    age_gated: StrictBool = False
    block_shorteners: StrictBool = False
    one_way: StrictBool = False


class BrandChanges(Strict):
    """The brand settings to change; ``null`` clears the support phone or a terms / privacy URL
    (the hosted pages are linked instead). The id and slug never change."""

    name: str = Field(default="", min_length=1, max_length=200)
    support_contact: str = Field(default="", min_length=1, max_length=200)
    support_phone: str | None = Field(default=None, max_length=64)
    terms_url: str | None = Field(default=None, max_length=2000, description="https://...")
    privacy_url: str | None = Field(default=None, max_length=2000, description="https://...")


class SenderChanges(Strict):
    """The sender settings to change. The id and address never change (the address is the
    sender); ``kind`` only to one its address is valid for (long code <-> toll-free)."""

    kind: Literal["long_code", "toll_free", "short_code", "alphanumeric"] = "long_code"
    verified: StrictBool = False
    program_ids: list[str] = Field(
        default_factory=list, max_length=100, description="the programs it serves: ids or slugs"
    )


class RegistryChangeOut(BaseModel):
    """One changed setting: which entity, which field, the old and new value, who and when."""

    id: str
    entity: str = Field(description="program, brand or sender")
    entity_id: str
    field: str
    old: Any = None
    new: Any = None
    actor: str = Field(description="console:<e-mail>, api-key:<key id>, cli or service")
    changed_at: datetime

    @classmethod
    def of(cls, change: RegistryChange) -> RegistryChangeOut:
        return cls(
            id=change.id,
            entity=change.entity_kind,
            entity_id=change.entity_id,
            field=change.field,
            old=change.old,
            new=change.new,
            actor=change.actor,
            changed_at=change.changed_at,
        )


@router.patch("/programs/{ref}")
def update_program(
    ref: str, body: ProgramChanges, tenant: TenantDep, app: ServiceDep, actor: ActorDep
) -> ProgramOut:
    """Change the settings given in the body (all checked before any is stored); the next send
    decision uses them. 404 for an unknown program (or another tenant's); 422 for an empty
    body."""
    return ProgramOut.of(app.update_program(tenant, ref, actor=actor, **_changes(body)))


@router.patch("/brands/{ref}")
def update_brand(
    ref: str, body: BrandChanges, tenant: TenantDep, app: ServiceDep, actor: ActorDep
) -> BrandOut:
    """Change a brand's name, support contact or phone, or terms / privacy URL (all checked
    before any is stored). 404 for an unknown brand (or another tenant's)."""
    return BrandOut.of(app.update_brand(tenant, ref, _changes(body), actor=actor))


@router.patch("/senders/{ref}")
def update_sender(
    ref: str, body: SenderChanges, tenant: TenantDep, app: ServiceDep, actor: ActorDep
) -> SenderOut:
    """Change whether a sender is verified, the programs it serves, or its kind (all checked
    before any is stored). 404 for an unknown sender or program (or another tenant's)."""
    return SenderOut.of(app.update_sender(tenant, ref, _changes(body), actor=actor))


@router.get("/registry-changes")
def list_registry_changes(
    tenant: TenantDep,
    app: ServiceDep,
    entity: Annotated[
        str | None,
        Query(
            max_length=200,
            description="program, brand or sender, optionally :<id or slug> "
            "(e.g. program:alerts, sender:snd_...)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> list[RegistryChangeOut]:
    """The registry change history, newest first: one entry per changed setting."""
    return [
        RegistryChangeOut.of(change)
        for change in app.list_registry_changes(tenant, entity, limit=limit)
    ]
