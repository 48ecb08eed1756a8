"""What every server-rendered page shares: the Jinja2 templates, security headers, CSRF checks."""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from consentry.domain import disclosures
from consentry.domain.model import Brand, Program

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

SECURITY_HEADERS = {
    # No script, no framing (a consent checkbox must never be clickjacked), forms post here only.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def tokens_match(expected: str, given: str) -> bool:
    """Whether a submitted CSRF token equals the expected one (constant time; empty never)."""
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def set_private_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    *,
    path: str,
    max_age: int | None = None,
) -> None:
    """Set a cookie no script can read and no other site can send (HttpOnly, SameSite=Strict),
    limited to ``path``, and Secure whenever the page itself came over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=path,
    )


def hosted_links(
    request: Request, tenant_slug: str, brand: Brand, program: Program
) -> tuple[str, str]:
    """The terms and privacy links of ``program``'s hosted opt-in page: the brand's own pages,
    else the hosted ones under ``/join/<tenant>/<program>``."""
    base = f"{str(request.base_url).rstrip('/')}/join/{tenant_slug}/{program.slug}"
    return brand.terms_url or f"{base}/terms", brand.privacy_url or f"{base}/privacy"


def hosted_call_to_action(
    request: Request, tenant_slug: str, brand: Brand, program: Program
) -> str:
    """The sign-up text the hosted opt-in page shows for ``program`` of ``brand``."""
    terms_url, privacy_url = hosted_links(request, tenant_slug, brand, program)
    return disclosures.call_to_action(brand, program, terms_url, privacy_url)
