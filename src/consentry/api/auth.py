"""Bearer API-key authentication: a missing or wrong key is 401 and touches nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from consentry.api.limits import enforce_rate_limit
from consentry.domain.model import Tenant
from consentry.errors import AuthenticationError
from consentry.service import Consentry

_bearer = HTTPBearer(auto_error=False, description="A tenant API key: `Bearer csk.…`")


def service(request: Request) -> Consentry:
    """The application service the app was created with."""
    app_service: Consentry = request.app.state.service
    return app_service


def current_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Tenant:
    """The tenant whose API key authorises this request."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("missing API key: send Authorization: Bearer <key>")
    tenant = service(request).authenticate(credentials.credentials)
    enforce_rate_limit(request, tenant)
    return tenant


ServiceDep = Annotated[Consentry, Depends(service)]
TenantDep = Annotated[Tenant, Depends(current_tenant)]
