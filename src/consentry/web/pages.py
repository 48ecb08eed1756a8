"""What every server-rendered page shares: the Jinja2 templates, security headers, CSRF checks."""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

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
