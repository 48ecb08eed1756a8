"""Errors raised by consentry.

Every error says what was wrong and, where there is one, which field::

    ConsentryError
    ├── InvalidInput          bad input: a field is missing, malformed or out of range
    │   └── InvalidNumber     a phone number or sender address that cannot be normalised
    ├── NotFound              a tenant, brand, program or sender that does not exist (in this tenant)
    ├── Conflict              a unique name or address already taken
    └── AuthenticationError   a missing, malformed, unknown or revoked API key

The HTTP layer maps them to 400/422, 404, 409 and 401, the CLI to exit code 2.
"""

from __future__ import annotations


class ConsentryError(Exception):
    """Base class of every error consentry raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ConsentryError):
    """A field is missing, malformed or out of range."""

    code = "invalid_input"


class InvalidNumber(InvalidInput):
    """A phone number or sender address that cannot be normalised."""

    code = "invalid_number"


class NotFound(ConsentryError):
    """The named thing does not exist in this tenant."""

    code = "not_found"


class Conflict(ConsentryError):
    """A unique slug or address is already taken in this tenant."""

    code = "conflict"


class AuthenticationError(ConsentryError):
    """A missing, malformed, unknown or revoked API key."""

    code = "unauthenticated"
