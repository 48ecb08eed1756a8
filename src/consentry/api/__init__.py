"""The HTTP API (FastAPI)."""

from consentry.api.app import create_app

__all__ = ["create_app"]
