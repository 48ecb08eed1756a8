"""Web pages: the hosted opt-in form with its terms and privacy pages (Jinja2, no JavaScript)."""

from consentry.web.optin import router

__all__ = ["router"]
