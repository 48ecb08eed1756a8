"""The ``consentry`` command line (Typer + Rich).

Every command that works on a tenant's data takes ``--tenant`` (id or slug; the environment
variable ``CONSENTRY_TENANT``; or, when the database holds exactly one tenant, that one). Bad
input exits with code 2 and a message naming the field; nothing is changed.

One module a topic registers its commands on the root ``app`` when imported below.
"""

from consentry.cli._common import app

# Imported for their side effect (registering commands), in the order `consentry --help` lists them.
# isort: off
from consentry.cli import server, registry, optouts, inbound, ledger, gate  # noqa: F401
from consentry.cli import screen, bench  # noqa: F401  (bulk screening, issue #11)
from consentry.cli import users  # noqa: F401  (admin console users, issue #8)
from consentry.cli import sync  # noqa: F401  (optouts sync, issue #7)
from consentry.cli import archive, keys  # noqa: F401  (backup and restore, key revocation, #9)
from consentry.cli import registry_edit  # noqa: F401  (registry editing and history, #8)
from consentry.cli import index_maintenance  # noqa: F401  (change-log compaction, issue #11)
# isort: on


def main() -> None:
    """Entry point of the ``consentry`` console script."""
    app()


__all__ = ["app", "main"]
