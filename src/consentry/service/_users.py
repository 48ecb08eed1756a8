"""Console users of a tenant: accounts, roles, log-in with lock-out, and sessions.

Passwords are hashed with argon2id (``argon2-cffi``); a session token is 256 random bits that
only the user's cookie holds: the store keeps its SHA-256. Five failed log-ins for one e-mail
address within fifteen minutes lock that address out for fifteen minutes, whether or not an
account exists for it, and every refusal reads the same, so the log-in form never tells whether
an address has an account.

Creating and disabling a user, and each successful sign-in (which also sets the user's
``last_login_at``), write one console user event in the same transaction (see
:mod:`consentry.service._user_events`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from consentry.domain.model import Tenant
from consentry.errors import AuthenticationError, Conflict, InvalidInput, NotFound
from consentry.identifiers import new_id
from consentry.service._tenants import TenantsLayer
from consentry.service._user_events import log_user_event, user_changed
from consentry.store.tables import admin_login_failures, admin_sessions, admin_users


class Role(StrEnum):
    """What a console user may do (checked on every request, server-side)."""

    ADMIN = "admin"  # everything
    AGENT = "agent"  # look-ups; opt-outs and opt-ins on a customer's request, with a note
    AUDITOR = "auditor"  # read-only; exports and proof bundles


MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_DURATION = timedelta(minutes=15)
SESSION_IDLE = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=12)
_FAILURES_KEPT = timedelta(days=1)
_SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
_REFUSED = "wrong e-mail address or password"


class AccountLocked(AuthenticationError):
    """Too many failed log-ins for this e-mail address: refused until ``until``."""

    def __init__(self, until: datetime, now: datetime) -> None:
        minutes = max(1, -(-int((until - now).total_seconds()) // 60))
        super().__init__(
            f"too many failed log-ins: try again in about {minutes} minutes", field="email"
        )
        self.until = until


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A console user of one tenant (never carries the password hash)."""

    id: str
    tenant_id: str
    email: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in session: ``token`` goes into the cookie and nowhere else."""

    token: str
    user: ConsoleUser
    expires_at: datetime


def locked_until(failures: Sequence[datetime]) -> datetime | None:
    """When the lock-out earned by ``failures`` (any order) ends, or None if it never locked.

    Any ``LOCKOUT_FAILURES`` failures within ``LOCKOUT_WINDOW`` lock the address for
    ``LOCKOUT_DURATION`` from the last of them.
    """
    times = sorted(failures)
    ends = [
        times[i] + LOCKOUT_DURATION
        for i in range(LOCKOUT_FAILURES - 1, len(times))
        if times[i] - times[i - LOCKOUT_FAILURES + 1] <= LOCKOUT_WINDOW
    ]
    return max(ends) if ends else None


def token_hash(token: str) -> str:
    """SHA-256 of a session token (tokens are 256-bit random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("email is required", field="email")
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if len(email) > 254 or not local or "." not in domain or any(c.isspace() for c in email):
        raise InvalidInput("email must be an e-mail address such as ana@example.com", field="email")
    return email


def _role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise InvalidInput(f"role must be one of {names}; got {value!r}", field="role") from None


def _password(value: Any) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(value) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    return value


def _user(row: Any) -> ConsoleUser:
    return ConsoleUser(
        id=row.user_id,
        tenant_id=row.tenant_id,
        email=row.email,
        role=Role(row.role),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


class UsersLayer(TenantsLayer):
    """Console users of a tenant: accounts, roles, log-in with lock-out, and sessions."""

    #: argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile); replaceable per service.
    password_hasher: PasswordHasher = PasswordHasher()
    _dummy_hash: str | None = None

    def create_user(
        self, tenant: Tenant, email: str, role: str, password: str, *, actor: str = "cli"
    ) -> ConsoleUser:
        """Create a console user of ``tenant`` (e-mail unique within the tenant); the event
        ``created`` names ``actor`` (``console:<e-mail>``, ``cli``)."""
        user = ConsoleUser(
            id=new_id("usr"),
            tenant_id=tenant.id,
            email=_email(email),
            role=_role(role),
            created_at=self.now(),
        )
        hashed = self.password_hasher.hash(_password(password))
        with self.engine.begin() as conn:
            if self._user_row(conn, tenant, user.email) is not None:
                raise Conflict(f"a user {user.email!r} already exists", field="email")
            conn.execute(
                sa.insert(admin_users).values(
                    tenant_id=tenant.id,
                    user_id=user.id,
                    email=user.email,
                    role=user.role.value,
                    password_hash=hashed,
                    created_at=user.created_at,
                )
            )
            event = user_changed(
                conn,
                tenant,
                user.id,
                user.email,
                "created",
                actor=actor,
                at=user.created_at,
                role=user.role.value,
            )
        log_user_event(event)
        return user

    def list_users(self, tenant: Tenant) -> list[ConsoleUser]:
        """The tenant's console users, by e-mail address."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(admin_users)
                .where(admin_users.c.tenant_id == tenant.id)
                .order_by(admin_users.c.email)
            )
            return [_user(row) for row in rows]

    def get_user(self, tenant: Tenant, ref: str) -> ConsoleUser:
        """A console user by id or e-mail address (:class:`NotFound` otherwise)."""
        with self._read() as conn:
            row = self._user_row(conn, tenant, ref)
        if row is None:
            raise NotFound(f"no user {ref!r}", field="user")
        return _user(row)

    def disable_user(self, tenant: Tenant, ref: str, *, actor: str = "cli") -> ConsoleUser:
        """Disable a user (id or e-mail address) and end every session of theirs (no
        last-admin check: the command line's way back in is ``consentry users create``).

        The event ``disabled`` names ``actor``; a user disabled already stays as they are and
        no event is written."""
        now = self.now()
        with self.engine.begin() as conn:
            row = self._user_row(conn, tenant, ref)
            if row is None:
                raise NotFound(f"no user {ref!r}", field="user")
            user = _user(row)
            conn.execute(
                sa.delete(admin_sessions).where(
                    admin_sessions.c.tenant_id == tenant.id, admin_sessions.c.user_id == user.id
                )
            )
            if user.disabled_at is not None:
                return user
            conn.execute(
                sa.update(admin_users)
                .where(admin_users.c.tenant_id == tenant.id, admin_users.c.user_id == user.id)
                .values(disabled_at=now)
            )
            event = user_changed(conn, tenant, user.id, user.email, "disabled", actor=actor, at=now)
        log_user_event(event)
        return replace(user, disabled_at=now)

    def authenticate_user(
        self, tenant: Tenant, email: str, password: str, *, ip_address: str | None = None
    ) -> ConsoleUser:
        """The user whose e-mail address and password these are.

        Raises :class:`AccountLocked` during a lock-out (whatever the password) and otherwise
        one :class:`AuthenticationError` for an unknown address, a wrong password or a disabled
        account alike; each such failure counts towards the lock-out.
        """
        address = email.strip().lower()[:254] if isinstance(email, str) else ""
        now = self.now()
        with self._read() as conn:
            until = locked_until(self._recent_failures(conn, tenant, address, now))
            row = self._user_row(conn, tenant, address) if "@" in address else None
        if until is not None and until > now:
            raise AccountLocked(until, now)
        stored = row.password_hash if row is not None else self._dummy()
        given = password if isinstance(password, str) else ""
        matched: bool
        try:
            matched = self.password_hasher.verify(stored, given[:MAX_PASSWORD_LENGTH])
        except (VerificationError, InvalidHashError):
            matched = False
        if not matched or row is None or row.disabled_at is not None:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(admin_login_failures).values(
                        tenant_id=tenant.id,
                        failure_id=new_id("flg"),
                        email=address,
                        failed_at=now,
                        ip_address=(ip_address or None) and ip_address[:64],
                    )
                )
                conn.execute(  # what no lock-out looks at any more
                    sa.delete(admin_login_failures).where(
                        admin_login_failures.c.tenant_id == tenant.id,
                        admin_login_failures.c.failed_at < now - _FAILURES_KEPT,
                    )
                )
            raise AuthenticationError(_REFUSED, field="password")
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(admin_login_failures).where(
                    admin_login_failures.c.tenant_id == tenant.id,
                    admin_login_failures.c.email == address,
                )
            )
            if self.password_hasher.check_needs_rehash(row.password_hash):
                conn.execute(
                    sa.update(admin_users)
                    .where(
                        admin_users.c.tenant_id == tenant.id,
                        admin_users.c.user_id == row.user_id,
                    )
                    .values(password_hash=self.password_hasher.hash(password))
                )
        return _user(row)

    def start_session(
        self, tenant: Tenant, user: ConsoleUser, *, ip_address: str | None = None
    ) -> ConsoleSession:
        """A new session for ``user`` (a successful sign-in): its token is returned once and
        stored hashed; the user's ``last_login_at`` and a ``signed_in`` event (with the IP
        address when known) are written in the same transaction."""
        if user.tenant_id != tenant.id:
            raise NotFound(f"no user {user.id!r}", field="user")
        token = secrets.token_urlsafe(32)
        now = self.now()
        expires = now + SESSION_LIFETIME
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(admin_sessions).values(
                    tenant_id=tenant.id,
                    token_hash=token_hash(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=expires,
                    last_seen_at=now,
                )
            )
            conn.execute(
                sa.update(admin_users)
                .where(admin_users.c.tenant_id == tenant.id, admin_users.c.user_id == user.id)
                .values(last_login_at=now)
            )
            details = {"ip_address": ip_address[:64]} if ip_address else {}
            event = user_changed(
                conn,
                tenant,
                user.id,
                user.email,
                "signed_in",
                actor=f"console:{user.email}",
                at=now,
                **details,
            )
        log_user_event(event)
        return ConsoleSession(token, user, expires)

    def log_in(
        self, tenant: Tenant, email: str, password: str, *, ip_address: str | None = None
    ) -> ConsoleSession:
        """:meth:`authenticate_user`, then :meth:`start_session`."""
        user = self.authenticate_user(tenant, email, password, ip_address=ip_address)
        return self.start_session(tenant, user, ip_address=ip_address)

    def session_user(self, tenant: Tenant, token: str) -> ConsoleUser | None:
        """The user signed in with ``token`` in ``tenant``, or None (unknown, expired after
        ``SESSION_LIFETIME`` or ``SESSION_IDLE`` without use, or the user disabled)."""
        if not token:
            return None
        hashed = token_hash(token)
        now = self.now()
        with self._read() as conn:
            found = conn.execute(
                sa.select(admin_sessions.c.expires_at, admin_sessions.c.last_seen_at, admin_users)
                .join(
                    admin_users,
                    sa.and_(
                        admin_users.c.tenant_id == admin_sessions.c.tenant_id,
                        admin_users.c.user_id == admin_sessions.c.user_id,
                    ),
                )
                .where(
                    admin_sessions.c.tenant_id == tenant.id,
                    admin_sessions.c.token_hash == hashed,
                )
            ).first()
        if found is None:
            return None
        expired = found.expires_at <= now or found.last_seen_at + SESSION_IDLE <= now
        if expired or found.disabled_at is not None:
            self.end_session(tenant, token)
            return None
        if now - found.last_seen_at >= _SEEN_EVERY:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(admin_sessions)
                    .where(
                        admin_sessions.c.tenant_id == tenant.id,
                        admin_sessions.c.token_hash == hashed,
                    )
                    .values(last_seen_at=now)
                )
        return _user(found)

    def end_session(self, tenant: Tenant, token: str) -> None:
        """Sign out: forget the session (nothing happens for an unknown token)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(admin_sessions).where(
                    admin_sessions.c.tenant_id == tenant.id,
                    admin_sessions.c.token_hash == token_hash(token),
                )
            )

    def _recent_failures(
        self, conn: sa.Connection, tenant: Tenant, email: str, now: datetime
    ) -> list[datetime]:
        since = now - LOCKOUT_WINDOW - LOCKOUT_DURATION
        return list(
            conn.execute(
                sa.select(admin_login_failures.c.failed_at).where(
                    admin_login_failures.c.tenant_id == tenant.id,
                    admin_login_failures.c.email == email,
                    admin_login_failures.c.failed_at > since,
                )
            ).scalars()
        )

    def _user_row(self, conn: sa.Connection, tenant: Tenant, ref: str) -> Any:
        by_email = "@" in ref
        column = admin_users.c.email if by_email else admin_users.c.user_id
        key = ref.strip().lower() if by_email else ref
        return conn.execute(
            sa.select(admin_users).where(admin_users.c.tenant_id == tenant.id, column == key)
        ).first()

    def _dummy(self) -> str:
        # Verified against when the address has no account, so both cases take as long.
        if self._dummy_hash is None:
            self._dummy_hash = self.password_hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
