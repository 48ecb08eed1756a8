"""Request and response bodies of the JSON API (pydantic models; unknown fields are refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from consentry.domain.model import Brand, OptOutEvent, Program, ScopeKind, Sender, Tenant
from consentry.service import RecipientStatus, ScopeRef


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TenantOut(BaseModel):
    id: str
    slug: str
    name: str
    default_region: str

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            id=tenant.id, slug=tenant.slug, name=tenant.name, default_region=tenant.default_region
        )


class BrandIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    support_contact: str = Field(min_length=1, max_length=200)
    support_phone: str | None = Field(default=None, max_length=64)
    slug: str | None = Field(default=None, max_length=64)
    terms_url: str | None = Field(default=None, max_length=2000, description="https://...")
    privacy_url: str | None = Field(default=None, max_length=2000, description="https://...")


class BrandOut(BaseModel):
    id: str
    slug: str
    name: str
    support_contact: str
    support_phone: str | None
    created_at: datetime
    terms_url: str | None
    privacy_url: str | None

    @classmethod
    def of(cls, brand: Brand) -> BrandOut:
        return cls(
            id=brand.id,
            slug=brand.slug,
            name=brand.name,
            support_contact=brand.support_contact,
            support_phone=brand.support_phone,
            created_at=brand.created_at,
            terms_url=brand.terms_url,
            privacy_url=brand.privacy_url,
        )


class ProgramIn(Strict):
    brand_id: str = Field(min_length=1, max_length=64, description="brand id or slug")
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=64)
    category: Literal["marketing", "informational", "transactional", "conversational"] = (
        "informational"
    )
    opt_out_scope: ScopeKind = ScopeKind.PROGRAM
    help_reply: str | None = Field(default=None, max_length=480)
    opt_out_reply: str | None = Field(default=None, max_length=480)
    opt_in_reply: str | None = Field(default=None, max_length=480)
    use_case: str | None = Field(default=None, max_length=64, description="e.g. lead_generation")
    description: str | None = Field(default=None, max_length=1000)
    frequency: str | None = Field(
        default=None, max_length=200, description="e.g. Up to 4 msgs/month"
    )
    consent_level: Literal["implied", "express", "express_written"] | None = None
    double_opt_in: bool = False
    pending_expiry_hours: int | None = Field(default=None, ge=1, le=36_500)
    reconfirm_after_days: int | None = Field(default=None, ge=1, le=36_500)
    reconfirm_idle_days: int | None = Field(default=None, ge=1, le=36_500)
    age_gated: bool = Field(default=False, description="may carry alcohol, firearms, ... content")
    block_shorteners: bool = Field(default=False, description="URL shorteners block, not warn")
    one_way: bool = Field(default=False, description="its senders cannot receive replies")
    purpose: Literal["marketing", "notifications"] | None = Field(
        default=None, description="what its messages are for (default: from the category)"
    )


class ProgramOut(BaseModel):
    id: str
    brand_id: str
    slug: str
    name: str
    category: str
    opt_out_scope: ScopeKind
    help_reply: str | None
    opt_out_reply: str | None
    opt_in_reply: str | None
    created_at: datetime
    use_case: str | None
    description: str | None
    frequency: str | None
    consent_level: str
    double_opt_in: bool
    pending_expiry_hours: int
    reconfirm_after_days: int
    reconfirm_idle_days: int
    age_gated: bool
    block_shorteners: bool
    one_way: bool
    purpose: str

    @classmethod
    def of(cls, program: Program) -> ProgramOut:
        return cls(
            id=program.id,
            brand_id=program.brand_id,
            slug=program.slug,
            name=program.name,
            category=program.category,
            opt_out_scope=program.opt_out_scope,
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
            one_way=program.one_way,
            purpose=program.purpose,
        )


class SenderIn(Strict):
    address: str = Field(min_length=1, max_length=64)
    kind: Literal["long_code", "toll_free", "short_code", "alphanumeric"]
    program_ids: list[str] = Field(default_factory=list, max_length=100, description="ids or slugs")
    verified: bool = False


class SenderOut(BaseModel):
    id: str
    address: str
    kind: str
    verified: bool
    program_ids: list[str]
    created_at: datetime

    @classmethod
    def of(cls, sender: Sender) -> SenderOut:
        return cls(
            id=sender.id,
            address=sender.address,
            kind=sender.kind.value,
            verified=sender.verified,
            program_ids=list(sender.program_ids),
            created_at=sender.created_at,
        )


class ScopeIn(Strict):
    kind: ScopeKind
    id: str | None = Field(default=None, max_length=64, description="program/brand id or slug")

    def ref(self) -> ScopeRef:
        return ScopeRef(self.kind, self.id)


class RecipientIn(Strict):
    to: str = Field(max_length=64)


class OptOutRequest(Strict):
    """Azure Opt-Out Management shape, plus an optional wider scope."""

    sender: str | None = Field(default=None, alias="from", max_length=64)
    recipients: list[RecipientIn] = Field(min_length=1, max_length=100)
    scope: ScopeIn | None = None
    reason: str | None = Field(default=None, max_length=500)


class RecipientResult(BaseModel):
    to: str
    httpStatusCode: int
    isOptedOut: bool | None = None
    errorMessage: str | None = None
    scopes: list[str] = Field(default_factory=list)
    changed: bool | None = None

    @classmethod
    def of(cls, status: RecipientStatus) -> RecipientResult:
        if status.to is None:
            return cls(to=status.input, httpStatusCode=status.status, errorMessage=status.error)
        return cls(
            to=status.to,
            httpStatusCode=status.status,
            isOptedOut=status.opted_out,
            scopes=[str(scope) for scope in status.scopes],
            changed=status.changed,
            errorMessage=status.error,
        )


class OptOutResponse(BaseModel):
    value: list[RecipientResult]


class ImportResponse(BaseModel):
    imported: bool
    rows: int
    added: int
    already_opted_out: int
    duplicates: int
    rejected: list[dict[str, Any]]


class OptOutEventOut(BaseModel):
    id: str
    seq: int
    action: str
    scope: str
    source: str
    actor: str | None
    reason: str | None
    inbound_id: str | None
    occurred_at: datetime
    hash: str

    @classmethod
    def of(cls, event: OptOutEvent) -> OptOutEventOut:
        return cls(
            id=event.id,
            seq=event.seq,
            action=event.action,
            scope=str(event.scope),
            source=event.source.value,
            actor=event.actor,
            reason=event.reason,
            inbound_id=event.inbound_id,
            occurred_at=event.occurred_at,
            hash=event.hash,
        )


class HistoryResponse(BaseModel):
    recipient: str
    opted_out_scopes: list[str]
    events: list[OptOutEventOut]


class InboundIn(Strict):
    sender: str = Field(
        alias="to", max_length=64, description="the business number that received it"
    )
    recipient: str = Field(alias="from", max_length=64, description="the person who sent it")
    body: str = Field(max_length=5000)
    received_at: datetime | None = None
    language: str | None = Field(default=None, min_length=2, max_length=8)

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-11-23T10:00:00Z")
        return value


class ClassificationOut(BaseModel):
    kind: str
    keyword: str | None
    language: str | None
    stage: str | None
    account_wide: bool


class ReplyOut(BaseModel):
    body: str
    outbox_id: str


class InboundOut(BaseModel):
    id: str
    sender: str = Field(serialization_alias="to")
    recipient: str = Field(serialization_alias="from")
    classification: ClassificationOut
    action: str
    scopes: list[str]
    reply: ReplyOut | None
    needs_review: bool
    notes: list[str]
