"""The admin console at ``/admin/{tenant}/...``: server-rendered pages for compliance officers,
support agents and auditors (log-in, dashboard, recipient look-up, opt-outs, inbound replies,
review queue, audit chain, decisions log, registry)."""

from __future__ import annotations

from fastapi import APIRouter

from consentry.web.admin import (
    copy,
    dashboard,
    decisions,
    imports,
    lists,
    login,
    password,
    programs,
    recipients,
    registry_edit,
    users,
)

router = APIRouter(include_in_schema=False)
router.include_router(login.router)
router.include_router(dashboard.router)
router.include_router(recipients.router)
router.include_router(lists.router)
router.include_router(imports.router)
router.include_router(copy.router)
router.include_router(decisions.router)
router.include_router(programs.router)
router.include_router(users.router)  # users page and own password (issue #8, part B)
router.include_router(password.router)
router.include_router(registry_edit.router)  # brand and sender editing (issue #8)

__all__ = ["router"]
