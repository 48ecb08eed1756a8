"""What the service returns: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

from consentry.domain.consent import (
    ConsentState,
)
from consentry.domain.model import (
    OptOut,
    OptOutEvent,
    Scope,
    ScopeKind,
)


@dataclass(frozen=True, slots=True)
class ScopeRef:
    """A scope as a caller names it: kind plus a program or brand id or slug (or sender address)."""

    kind: ScopeKind
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """The outcome for one recipient of an opt-out add, remove or check.

    ``status`` is 200 or 400 (invalid number, with ``error``); ``opted_out`` is whether the
    recipient is opted out *after* the operation for the scope asked about; ``scopes`` lists the
    opt-outs that make it so; ``changed`` says whether this call added or removed an entry.
    """

    input: str
    to: str | None
    status: int
    opted_out: bool | None = None
    error: str | None = None
    scopes: tuple[Scope, ...] = ()
    changed: bool = False


@dataclass(frozen=True, slots=True)
class RejectedRow:
    line: int
    value: str
    error: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an opt-out import did: ``imported`` is False when any row was rejected."""

    rows: int
    added: int
    already_opted_out: int
    duplicates: int
    rejected: tuple[RejectedRow, ...] = field(default_factory=tuple)

    @property
    def imported(self) -> bool:
        return not self.rejected


@dataclass(frozen=True, slots=True)
class ConsentOutcome:
    """What recording a consent did: the event, the state now, and the message queued (if any)."""

    event_id: str
    state: ConsentState | None
    reply: str | None = None
    outbox_id: str | None = None
    still_opted_out: tuple[Scope, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConsentImportReport:
    """What a consent import did: ``imported`` is False when any row was rejected."""

    rows: int
    events: int
    rejected: tuple[RejectedRow, ...] = ()

    @property
    def imported(self) -> bool:
        return not self.rejected


@dataclass(frozen=True, slots=True)
class RecipientView:
    """A recipient's current consent per program and current opt-outs."""

    recipient: str
    consents: tuple[ConsentState, ...]
    optouts: tuple[OptOut, ...]


@dataclass(frozen=True, slots=True)
class RecipientHistory:
    """One number's current opt-outs and its opt-out history."""

    recipient: str
    current: tuple[OptOut, ...]
    events: tuple[OptOutEvent, ...]


@dataclass(frozen=True, slots=True)
class _Target:
    scope: Scope
    covering: frozenset[Scope]
