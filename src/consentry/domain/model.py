"""Data types shared by every layer of consentry.

They are plain frozen dataclasses: the domain core builds and reads them without I/O, the store
maps them to rows, and the HTTP and CLI layers turn them into JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ReplyKind(StrEnum):
    """What an inbound reply asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"  # YES and its equivalents: confirms a pending double opt-in
    AMBIGUOUS = "ambiguous"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Classification:
    """The classifier's verdict on one inbound reply.

    ``keyword`` is the listed keyword or phrase that matched (upper case for keywords such as
    ``STOP``, the listed phrase for plain-language revocations), ``language`` the ISO 639-1 code
    of the list it came from, ``stage`` the normalisation stage at which it matched (so a reader
    can see why), ``account_wide`` whether the keyword asks to stop *everything* from the account
    (STOPALL and its equivalents), and ``source`` the citation of the keyword list.
    """

    kind: ReplyKind
    keyword: str | None = None
    language: str | None = None
    stage: str | None = None
    account_wide: bool = False
    source: str | None = None


class ScopeKind(StrEnum):
    """How far an opt-out reaches. A wider scope covers every narrower one."""

    SENDER = "sender"
    PROGRAM = "program"
    PURPOSE = "purpose"  # one purpose of one brand (id "<brand id>:<purpose>")
    BRAND = "brand"
    TENANT = "tenant"


class SenderKind(StrEnum):
    """The kinds of origination identity a tenant can register."""

    LONG_CODE = "long_code"
    TOLL_FREE = "toll_free"
    SHORT_CODE = "short_code"
    ALPHANUMERIC = "alphanumeric"


class OptOutSource(StrEnum):
    """Where an opt-out change came from."""

    API = "api"
    KEYWORD = "keyword"
    IMPORT = "import"
    CONSOLE = "console"
    CLI = "cli"
    PROVIDER = "provider"  # reported by the messaging provider (e.g. Twilio error 21610)
    WEB = "web"


@dataclass(frozen=True, slots=True)
class Scope:
    """One opt-out scope: ``kind`` plus the id of the sender, program or brand (empty for tenant)."""

    kind: ScopeKind
    id: str = ""

    def __str__(self) -> str:
        return self.kind.value if self.kind is ScopeKind.TENANT else f"{self.kind.value}:{self.id}"


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    slug: str
    name: str
    default_region: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Brand:
    id: str
    tenant_id: str
    slug: str
    name: str
    support_contact: str
    support_phone: str | None
    created_at: datetime
    terms_url: str | None = None  # the brand's own SMS terms page (else consentry hosts one)
    privacy_url: str | None = None  # the brand's own privacy policy (else consentry hosts one)


@dataclass(frozen=True, slots=True)
class Program:
    id: str
    tenant_id: str
    brand_id: str
    slug: str
    name: str
    category: str
    opt_out_scope: ScopeKind
    help_reply: str | None
    opt_out_reply: str | None
    opt_in_reply: str | None
    created_at: datetime
    use_case: str | None = None
    description: str | None = None
    frequency: str | None = None
    consent_level: str = "express"
    double_opt_in: bool = False
    pending_expiry_hours: int = 48
    reconfirm_after_days: int = 30
    reconfirm_idle_days: int = 365
    age_gated: bool = False  # may carry alcohol, firearms, tobacco, gambling or sexual content
    block_shorteners: bool = False  # public URL shorteners block instead of warn
    one_way: bool = False  # its senders cannot receive replies (each message must say so)
    purpose: str = "marketing"  # what its messages are for (rules/purposes.toml)


@dataclass(frozen=True, slots=True)
class Sender:
    id: str
    tenant_id: str
    address: str
    kind: SenderKind
    verified: bool
    program_ids: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OptOut:
    """A current opt-out: ``recipient`` may not be texted within ``scope``."""

    recipient: str
    scope: Scope
    source: OptOutSource
    created_at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class OptOutEvent:
    """One entry of a recipient's opt-out history (``action`` is ``add`` or ``remove``)."""

    id: str
    seq: int
    recipient: str
    action: str
    scope: Scope
    source: OptOutSource
    actor: str | None
    reason: str | None
    inbound_id: str | None
    occurred_at: datetime
    hash: str


@dataclass(frozen=True, slots=True)
class InboundResult:
    """What consentry did with one inbound reply."""

    inbound_id: str
    sender_address: str
    recipient: str
    classification: Classification
    action: str
    scopes: tuple[Scope, ...] = ()
    reply: str | None = None
    outbox_id: str | None = None
    needs_review: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
