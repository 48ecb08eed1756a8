"""Routes of a tenant's own reply keywords (on top of the reviewed STOP / START / HELP lists)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from consentry.api.auth import ServiceDep, TenantDep
from consentry.api.schemas import Strict

router = APIRouter(prefix="/v1", tags=["keywords"])


class KeywordIn(Strict):
    keyword: str = Field(
        min_length=1,
        max_length=200,
        description="normalised like a reply (case, punctuation, emoji, accents): 1-64 "
        "letters, digits and spaces once normalised",
    )
    kind: Literal["opt_out", "opt_in", "help"]
    language: str | None = Field(
        default=None, min_length=2, max_length=2, description="ISO 639-1 code, e.g. es"
    )


class KeywordOut(BaseModel):
    keyword: str
    kind: str
    language: str | None
    created_at: datetime


@router.post("/keywords", status_code=201)
def add_keyword(body: KeywordIn, tenant: TenantDep, app: ServiceDep) -> KeywordOut:
    """Add a keyword. 409 for a duplicate or a keyword the reviewed lists already read (a
    tenant can never make STOP anything but an opt-out)."""
    entry = app.add_keyword(tenant, body.keyword, body.kind, language=body.language)
    return KeywordOut(**entry)


@router.get("/keywords")
def list_keywords(tenant: TenantDep, app: ServiceDep) -> list[KeywordOut]:
    """The tenant's own keywords, alphabetically."""
    return [KeywordOut(**entry) for entry in app.list_keywords(tenant)]


@router.delete("/keywords/{keyword}", status_code=204)
def remove_keyword(keyword: str, tenant: TenantDep, app: ServiceDep) -> Response:
    """Remove a keyword (any spelling that normalises to it); 404 when there is none."""
    app.remove_keyword(tenant, keyword)
    return Response(status_code=204)
