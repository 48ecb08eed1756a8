"""The application service: the one API that the CLI, the HTTP API and the web pages call.

``Consentry`` owns the database engine and the clock. Every write runs in one transaction and is
committed before the method returns, so whatever a caller acknowledges is stored. Every method
that reads or writes tenant data takes the :class:`~consentry.domain.model.Tenant` it acts for and
never reads another tenant's rows.

The class is assembled from one layer a concern, each in its own module and each building on the
one before: ``_base`` (engine, clock) < ``_tenants`` < ``_registry`` < ``_settings`` < ``_optouts`` <
``_consents`` < ``_inbound`` < ``_providers`` < ``_delivery`` < ``_gate`` < ``_review``.
"""

from consentry.service._archive import ArchiveLayer  # backup and restore (issue #9)
from consentry.service._base import Clock, utc_now
from consentry.service._console import ConsoleLayer  # admin console (issue #8)
from consentry.service._decisions import DecisionsLayer  # decisions log (issue #8)
from consentry.service._delivery import DeliveryReport
from consentry.service._gate import MAX_BATCH, MAX_BODY, BatchItem, SendRequest
from consentry.service._inbound import MAX_INBOUND_BODY
from consentry.service._index_maintenance import IndexMaintenanceLayer  # change-log compaction
from consentry.service._registry import PROGRAM_CATEGORIES
from consentry.service._registry_edit import RegistryEditLayer  # registry editing (issue #8)
from consentry.service._results import (
    ConsentImportReport,
    ConsentOutcome,
    ImportReport,
    RecipientHistory,
    RecipientStatus,
    RecipientView,
    RejectedRow,
    ScopeRef,
)
from consentry.service._review import ReviewLayer
from consentry.service._screen import ScreenLayer  # bulk screening (issue #11)
from consentry.service._sync import SyncLayer  # provider integration (issue #7)
from consentry.service._user_admin import UserAdminLayer  # console user management (#8)
from consentry.service._users import UsersLayer  # admin console (issue #8)


class Consentry(
    UserAdminLayer,
    UsersLayer,
    ConsoleLayer,
    ArchiveLayer,
    SyncLayer,
    ScreenLayer,
    DecisionsLayer,
    ReviewLayer,
    RegistryEditLayer,
    IndexMaintenanceLayer,
):
    """The consentry service over one database.

    >>> app = Consentry("sqlite:///var/consentry.db")   # doctest: +SKIP
    >>> app.migrate()                                   # doctest: +SKIP
    """


__all__ = [
    "MAX_BATCH",
    "MAX_BODY",
    "MAX_INBOUND_BODY",
    "PROGRAM_CATEGORIES",
    "BatchItem",
    "Clock",
    "ConsentImportReport",
    "ConsentOutcome",
    "Consentry",
    "DeliveryReport",
    "ImportReport",
    "RecipientHistory",
    "RecipientStatus",
    "RecipientView",
    "RejectedRow",
    "ScopeRef",
    "SendRequest",
    "utc_now",
]
