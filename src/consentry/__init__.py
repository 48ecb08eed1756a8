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
from consentry.domain.policy import Action, Decision, Finding, Severity
from consentry.errors import (
    AuthenticationError,
    Conflict,
    ConsentryError,
    InvalidInput,
    InvalidNumber,
    NotFound,
)
from consentry.service import (
    BatchItem,
    ConsentOutcome,
    Consentry,
    ImportReport,
    RecipientHistory,
    RecipientStatus,
    RecipientView,
    RejectedRow,
    ScopeRef,
    SendRequest,
)

__all__ = [
    "Action",
    "AuthenticationError",
    "BatchItem",
    "Brand",
    "Classification",
    "Conflict",
    "ConsentLevel",
    "ConsentOutcome",
    "ConsentState",
    "ConsentStatus",
    "Consentry",
    "ConsentryError",
    "Decision",
    "Finding",
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
    "SendRequest",
    "Sender",
    "SenderKind",
    "Severity",
    "Tenant",
    "__version__",
]
