"""AWS End User Messaging SMS: inbound messages through Amazon SNS, and the tenant's settings.

Owned by the AWS integration work; registered in ``api/app.py`` before ``webhooks``.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["providers"])
