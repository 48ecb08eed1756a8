"""Route of the opt-in copy linter: ``POST /v1/lint/{kind}`` (cta, terms, privacy, template)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.schemas import Strict
from consentry.domain.cta import LintContext, lint, report_json

router = APIRouter(prefix="/v1", tags=["lint"])


class LintIn(Strict):
    text: str = Field(min_length=1, max_length=100_000, description="plain text or HTML")
    html: bool | None = Field(default=None, description="default: detected from the text")
    program: str | None = Field(
        default=None,
        max_length=64,
        description="a program (id or slug) of this tenant: fills brand, program, category and "
        "support contact",
    )
    brand: str | None = Field(default=None, max_length=200)
    program_name: str | None = Field(default=None, max_length=200)
    category: Literal["marketing", "informational", "transactional", "conversational"] = "marketing"
    support_contact: str | None = Field(default=None, max_length=200)
    template: (
        Literal[
            "opt_in_confirmation", "opt_out_confirmation", "help_reply", "first_message", "reminder"
        ]
        | None
    ) = None
    web_form: bool | None = None


@router.post("/lint/{kind}")
def lint_text(
    kind: Literal["cta", "terms", "privacy", "template"],
    body: LintIn,
    tenant: TenantDep,
    app: ServiceDep,
) -> dict[str, Any]:
    """Check opt-in copy for the elements carriers require; each finding cites its source."""
    context = LintContext(
        brand=body.brand,
        program=body.program_name,
        category=body.category,
        support_contact=body.support_contact,
        template=body.template,
        web_form=body.web_form,
    )
    if body.program is not None:
        program = app.get_program(tenant, body.program)
        brand = app.get_brand(tenant, program.brand_id)
        context = replace(
            context,
            brand=body.brand or brand.name,
            program=body.program_name or program.name,
            category=program.category,
            support_contact=body.support_contact or brand.support_contact,
        )
    return report_json(lint(kind, body.text, context, html=body.html))
