"""Provider secrets encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256, from ``cryptography``).

The key comes from the configuration, first found wins:

1. ``CONSENTRY_SECRET_KEY``: a Fernet key (32 url-safe base64-encoded bytes);
2. ``CONSENTRY_SECRET_KEY_FILE``: the path of a file holding one;
3. the embedded default (a SQLite database file): ``<database>.secret-key`` next to the database,
   generated on first use with permissions 0600;
4. otherwise (PostgreSQL, in-memory SQLite): ``$XDG_CONFIG_HOME/consentry/secret-key`` (default
   ``~/.config``), generated on first use with permissions 0600. Servers sharing one PostgreSQL
   database must share the key: set ``CONSENTRY_SECRET_KEY`` on each of them.

Stored values are ``fernet:<token>``. A value without that prefix is a plaintext secret written by
an older consentry: it is still read as is, and re-encrypted the next time it is read or written.
A value encrypted under another key raises :class:`SecretKeyError`, which says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from consentry.errors import ConsentryError

KEY_ENV = "CONSENTRY_SECRET_KEY"
KEY_FILE_ENV = "CONSENTRY_SECRET_KEY_FILE"
PREFIX = "fernet:"
KEY_SUFFIX = ".secret-key"

logger = logging.getLogger("consentry.secrets")


class SecretKeyError(ConsentryError):
    """The secret key is missing, malformed, or not the one the stored secrets were sealed with."""

    code = "secret_key"


def is_sealed(stored: str) -> bool:
    """Whether ``stored`` is an encrypted value (rather than a legacy plaintext one)."""
    return stored.startswith(PREFIX)


class SecretBox:
    """Seals and opens secrets with one Fernet key."""

    def __init__(self, key: bytes | str, *, origin: str = "the configured key") -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as error:
            raise SecretKeyError(
                f"{origin} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from error
        self.origin = origin

    def seal(self, plaintext: str) -> str:
        """``plaintext`` encrypted, as stored: ``fernet:<token>``."""
        return PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The plaintext of a stored value (a legacy plaintext value is returned unchanged)."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as error:
            raise SecretKeyError(
                f"a stored provider secret cannot be decrypted with {self.origin}: the secrets "
                f"were sealed with another key (check {KEY_ENV} / {KEY_FILE_ENV}), or the value "
                "was altered"
            ) from error


def default_key_file(database_file: str | None) -> Path:
    """Where the generated key lives: beside a SQLite database file, else in the user's config."""
    if database_file and database_file != ":memory:":
        return Path(database_file + KEY_SUFFIX)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "consentry" / "secret-key"


def load_box(database_file: str | None = None) -> SecretBox:
    """The :class:`SecretBox` for this configuration (see the module docstring for the order).

    ``database_file`` is the SQLite database's path, or None for another database.
    """
    key = os.environ.get(KEY_ENV)
    if key:
        return SecretBox(key.strip(), origin=KEY_ENV)
    path_text = os.environ.get(KEY_FILE_ENV)
    if path_text:
        path = Path(path_text)
        try:
            return SecretBox(path.read_bytes().strip(), origin=f"the key file {path}")
        except OSError as error:
            raise SecretKeyError(f"{KEY_FILE_ENV}={path} cannot be read ({error})") from error
    path = default_key_file(database_file)
    return SecretBox(_generated(path), origin=f"the key file {path}")


def _generated(path: Path) -> bytes:
    """The key in ``path``, created (0600, never overwritten) the first time."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
    logger.warning("generated a new secret key for provider secrets at %s (keep it safe)", path)
    return key
