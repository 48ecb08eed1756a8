"""Identifiers: short random strings with a prefix that says what they name (``brd_…``)."""

from __future__ import annotations

import base64
import re
import secrets

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# RFC 4648 base32 -> Crockford's lower-case alphabet, letter for letter.
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def new_id(prefix: str) -> str:
    """A new id such as ``brd_5x2k9q0m7d1c4t8z`` (80 random bits)."""
    # 10 random bytes are exactly 16 base32 characters (one call to the OS, not sixteen).
    return (
        prefix + "_" + base64.b32encode(secrets.token_bytes(10)).decode().translate(_TO_CROCKFORD)
    )


def slugify(name: str) -> str:
    """A URL-safe slug from a display name (``"Acme Coffee!"`` -> ``"acme-coffee"``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64].strip("-")


def is_slug(text: str) -> bool:
    """Whether ``text`` is a valid slug: lower-case letters, digits and inner hyphens, <= 64."""
    return bool(_SLUG.match(text))
