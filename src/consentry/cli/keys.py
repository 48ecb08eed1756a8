"""Revoking a tenant's API key (the other half of ``consentry tenants key``, which issues one)."""

from __future__ import annotations

from typing import Annotated

import typer

from consentry.cli._common import DatabaseOption, _run, _service, _tenant, out
from consentry.cli.registry import tenants_app


@tenants_app.command("revoke-key")
def tenants_revoke_key(
    tenant: str,
    key_id: Annotated[
        str,
        typer.Argument(help="The key's id: the third dot-separated part, key_..., of the key."),
    ],
    database: DatabaseOption = None,
) -> None:
    """Revoke one API key at once (rotation: issue the new key with `tenants key` first).
    Example: consentry tenants revoke-key demo key_0123456789abcdef"""
    service = _service(database)
    target = _tenant(service, tenant)
    _run(lambda: service.revoke_api_key(target, key_id))
    out.print(f"key {key_id} of {target.slug} revoked")
