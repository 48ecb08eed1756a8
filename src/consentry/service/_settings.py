"""Tenant settings: per-account choices that change how the rules are applied.

- ``optout_removal_min_days`` (default off): an opt-out of a number may be lifted by the API or
  the CLI at most once in this many days (Amazon SNS lets a number be opted back in once every
  30 days: Amazon SNS API Reference, ``OptInPhoneNumber``). A START from the person is never
  limited.
- ``revoke_all`` (default off): a revocation by keyword applies to every brand and program of
  the tenant. 47 CFR 64.1200(a)(10) as amended by FCC 24-24 (2024) makes a revocation reach all
  of a caller's unrelated messages; the FCC postponed the effective date of that part, so
  consentry leaves it to each tenant until it takes effect.
- ``clarify_revocation_scope`` (default off): a keyword revocation from someone with active
  consent to several programs of a brand stops the whole brand, and its one confirmation asks
  which purposes (marketing, account notifications) to keep; a keep-keyword answer within the
  window narrows it (47 CFR 64.1200(a)(12); ``rules/purposes.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from consentry.domain.model import Tenant
from consentry.errors import InvalidInput
from consentry.service._registry import RegistryLayer
from consentry.store.tables import tenant_settings


@dataclass(frozen=True, slots=True)
class Setting:
    default: Any
    description: str
    citation: str


SETTINGS: dict[str, Setting] = {
    "optout_removal_min_days": Setting(
        None,
        "days that must pass before an opt-out of the same number is lifted again by API or CLI "
        "(null: no limit)",
        "Amazon SNS API Reference, OptInPhoneNumber (a number can be opted in once every 30 days)",
    ),
    "revoke_all": Setting(
        False,
        "a keyword revocation applies to every brand and program of the tenant",
        "47 CFR 64.1200(a)(10) as amended by FCC 24-24 (2024), revocation of all unrelated "
        "messages; effective date postponed by the FCC (check its current status)",
    ),
    "clarify_revocation_scope": Setting(
        False,
        "a keyword revocation from someone consenting to several programs of a brand stops the "
        "whole brand and its confirmation asks which purposes to keep",
        "47 CFR 64.1200(a)(12) as amended by FCC 24-24 (2024), clarification of the scope of a "
        "revocation in the confirmation text",
    ),
}


def _checked(name: str, value: Any) -> Any:
    if name == "optout_removal_min_days":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 365:
            raise InvalidInput(
                f"{name} must be a whole number of days from 1 to 365, or null", field=name
            )
        return value
    if name in ("revoke_all", "clarify_revocation_scope"):
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be true or false", field=name)
        return value
    raise InvalidInput(
        f"unknown setting {name!r}; known: {', '.join(sorted(SETTINGS))}", field=name
    )


class SettingsLayer(RegistryLayer):
    """Tenant settings: per-account choices that change how the rules are applied."""

    def tenant_settings(self, tenant: Tenant) -> dict[str, Any]:
        """Every setting of ``tenant`` (defaults for those never set)."""
        with self._read() as conn:
            return self._settings(conn, tenant.id)

    def update_tenant_settings(self, tenant: Tenant, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some settings (all checked before any is stored); return them all."""
        if not changes:
            raise InvalidInput("give at least one setting to change", field="settings")
        checked = {name: _checked(name, value) for name, value in changes.items()}
        now = self.now()
        with self.engine.begin() as conn:
            for name, value in checked.items():
                key = (tenant_settings.c.tenant_id == tenant.id) & (tenant_settings.c.name == name)
                updated = conn.execute(
                    sa.update(tenant_settings).where(key).values(value=value, updated_at=now)
                ).rowcount
                if not updated:
                    conn.execute(
                        sa.insert(tenant_settings).values(
                            tenant_id=tenant.id, name=name, value=value, updated_at=now
                        )
                    )
            return self._settings(conn, tenant.id)

    def _settings(self, conn: sa.Connection, tenant_id: str) -> dict[str, Any]:
        stored = {
            row.name: row.value
            for row in conn.execute(
                sa.select(tenant_settings.c.name, tenant_settings.c.value).where(
                    tenant_settings.c.tenant_id == tenant_id
                )
            )
        }
        return {name: stored.get(name, spec.default) for name, spec in SETTINGS.items()}
