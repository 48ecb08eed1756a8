"""Whole-database backup and restore (``consentry.archive``) as service methods."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from consentry.archive import (
    ArchiveError,
    ArchiveReport,
    Manifest,
    Progress,
    export_archive,
    import_archive,
    verify_archive,
)
from consentry.secrets_at_rest import KEY_ENV, KEY_FILE_ENV, SecretKeyError, is_sealed
from consentry.service._review import ReviewLayer
from consentry.store.tables import provider_settings


class ArchiveLayer(ReviewLayer):
    """Whole-database backup and restore: export every table to one archive file, verify an
    archive, and restore one into an empty database. These are operator actions over the whole
    database (every tenant), like ``migrate``; they take no tenant."""

    def export_all(self, path: str | Path, *, progress: Progress | None = None) -> Manifest:
        """Write every table, from one consistent snapshot, to the archive ``path``."""
        return export_archive(self.engine, path, progress=progress)

    def verify_archive(
        self, path: str | Path, *, progress: Progress | None = None
    ) -> ArchiveReport:
        """Check an archive completely (checksums, rows, ledger chains) without a database."""
        return verify_archive(path, progress=progress)

    def import_all(
        self,
        path: str | Path,
        *,
        progress: Progress | None = None,
        verified: Progress | None = None,
    ) -> ArchiveReport:
        """Restore an archive into this (empty) database in one transaction, then bring the
        schema up to date; the in-memory send-gate state is dropped so it reloads."""
        report = import_archive(
            self.engine, path, progress=progress, verified=verified, check=self._secrets_open
        )
        self.migrate()
        self.forget_gate()
        return report

    def _secrets_open(self, conn: sa.Connection) -> None:
        """Every restored provider secret must open with this installation's secret key: a
        restore that kept secrets nobody can read would break webhooks and delivery later."""
        query = sa.select(
            provider_settings.c.tenant_id, provider_settings.c.provider, provider_settings.c.secret
        ).where(provider_settings.c.secret.is_not(None))
        for tenant_id, provider, stored in conn.execute(query):
            if not is_sealed(stored):
                continue
            box = self._secret_box()
            try:
                box.open(stored)
            except SecretKeyError:
                raise ArchiveError(
                    f"the {provider} secret of tenant {tenant_id} was sealed with another secret "
                    f"key than {box.origin}: set {KEY_ENV} (or {KEY_FILE_ENV}) to the key of the "
                    "installation that wrote the archive, then restore again"
                ) from None
