"""consentry: a self-hosted SMS compliance engine.

The public surface is the service :class:`Consentry`, the domain types it takes and returns, and
the errors it raises. Everything else is an implementation detail.
"""

from consentry._version import __version__
from consentry.domain.consent import ConsentLevel, ConsentState, ConsentStatus
from consentry.domain.model import (
    Brand,
    Classification,
    InboundResult,
    OptOut,
    OptOutEvent,
    OptOutSource,
    Program,
    ReplyKind,
    Scope,
    ScopeKind,
    Sender,
    SenderKind,
    Tenant,
)
from consentry.errors import (
    AuthenticationError,
    Conflict,
    ConsentryError,
    InvalidInput,
    InvalidNumber,
    NotFound,
)
from consentry.service import (
    ConsentOutcome,
    Consentry,
    ImportReport,
    RecipientHistory,
    RecipientStatus,
    RecipientView,
    RejectedRow,
    ScopeRef,
)

__all__ = [
    "AuthenticationError",
    "Brand",
    "Classification",
    "Conflict",
    "ConsentLevel",
    "ConsentOutcome",
    "ConsentState",
    "ConsentStatus",
    "Consentry",
    "ConsentryError",
    "ImportReport",
    "InboundResult",
    "InvalidInput",
    "InvalidNumber",
    "NotFound",
    "OptOut",
    "OptOutEvent",
    "OptOutSource",
    "Program",
    "RecipientHistory",
    "RecipientStatus",
    "RecipientView",
    "RejectedRow",
    "ReplyKind",
    "Scope",
    "ScopeKind",
    "ScopeRef",
    "Sender",
    "SenderKind",
    "Tenant",
    "__version__",
]
