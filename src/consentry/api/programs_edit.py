"""``PATCH /v1/programs/{ref}``: change some settings of a registered program (issue #8)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field, StrictBool, StrictInt

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.schemas import ProgramOut, Strict
from consentry.domain.model import ScopeKind

router = APIRouter(prefix="/v1", tags=["registry"])


class ProgramChanges(Strict):
    """The settings to change; a field left out keeps its value, ``null`` clears an optional
    text (a keyword reply falls back to the default one) or resets a setting to its default.
    The id, slug and brand never change."""

    name: str = Field(default="", min_length=1, max_length=200)
    category: Literal["marketing", "informational", "transactional", "conversational"] = (
        "informational"
    )
    purpose: Literal["marketing", "notifications"] | None = None
    opt_out_scope: ScopeKind = ScopeKind.PROGRAM
    help_reply: str | None = Field(default=None, max_length=480)
    opt_out_reply: str | None = Field(default=None, max_length=480)
    opt_in_reply: str | None = Field(default=None, max_length=480)
    use_case: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=1000)
    frequency: str | None = Field(default=None, max_length=200)
    consent_level: Literal["implied", "express", "express_written"] | None = None
    double_opt_in: StrictBool = False
    pending_expiry_hours: StrictInt | None = Field(default=None, ge=1, le=36_500)
    reconfirm_after_days: StrictInt | None = Field(default=None, ge=1, le=36_500)
    reconfirm_idle_days: StrictInt | None = Field(default=None, ge=1, le=36_500)
    age_gated: StrictBool = False
    block_shorteners: StrictBool = False
    one_way: StrictBool = False


@router.patch("/programs/{ref}")
def update_program(
    ref: str, body: ProgramChanges, tenant: TenantDep, app: ServiceDep
) -> ProgramOut:
    """Change the settings given in the body (all checked before any is stored); the next send
    decision uses them. 404 for an unknown program (or another tenant's)."""
    return ProgramOut.of(app.update_program(tenant, ref, **body.model_dump(exclude_unset=True)))
