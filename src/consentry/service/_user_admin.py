"""Managing a tenant's console users: an overview (lock-out, sessions), roles, disabling and
re-enabling, a password reset by an admin and a user's own password change.

Every change is one transaction that also writes one row of ``console_user_events`` (who, the
actor, did what to whom, when; old and new role), and is then logged as one structured line on
the ``consentry.users`` logger; a refused change writes neither.
A tenant never loses its last active admin through these methods: the tenant's user rows are
locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer) before the check, so two
admins demoting each other at the same moment cannot both succeed. Disabling a user or resetting
their password ends their sessions in the same transaction; changing one's own password ends
every session of the user and starts a new one for the browser that asked (a new token).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from consentry.domain.model import Tenant
from consentry.errors import AuthenticationError, Conflict, InvalidInput, NotFound
from consentry.service._user_events import log_user_event, user_changed
from consentry.service._users import (
    LOCKOUT_DURATION,
    LOCKOUT_WINDOW,
    SESSION_IDLE,
    SESSION_LIFETIME,
    ConsoleSession,
    ConsoleUser,
    Role,
    UsersLayer,
    _password,
    _role,
    _user,
    locked_until,
    token_hash,
)
from consentry.store import console_user_events
from consentry.store.console_user_events import ConsoleUserEvent
from consentry.store.tables import admin_login_failures, admin_sessions, admin_users

EVENTS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class UserOverview:
    """A console user as the users page shows them."""

    user: ConsoleUser
    locked_until: datetime | None  # failed log-ins lock their address until then
    sessions: int  # sessions alive now
    last_seen_at: datetime | None  # latest request of a live session
    last_login_at: datetime | None = None  # latest successful sign-in (None: never)


class UserAdminLayer(UsersLayer):
    """Admins manage the tenant's console users; every user changes their own password."""

    def user_overview(self, tenant: Tenant) -> list[UserOverview]:
        """The tenant's console users by e-mail address, each with its lock-out, sessions and
        last sign-in."""
        now = self.now()
        with self._read() as conn:
            rows = conn.execute(
                sa.select(admin_users)
                .where(admin_users.c.tenant_id == tenant.id)
                .order_by(admin_users.c.email)
            ).all()
            users = [_user(row) for row in rows]
            last_login = {row.user_id: row.last_login_at for row in rows}
            failures: dict[str, list[datetime]] = {}
            for email, failed_at in conn.execute(
                sa.select(admin_login_failures.c.email, admin_login_failures.c.failed_at).where(
                    admin_login_failures.c.tenant_id == tenant.id,
                    admin_login_failures.c.failed_at > now - LOCKOUT_WINDOW - LOCKOUT_DURATION,
                )
            ):
                failures.setdefault(email, []).append(failed_at)
            live: dict[str, list[datetime]] = {}
            for user_id, seen in conn.execute(
                sa.select(admin_sessions.c.user_id, admin_sessions.c.last_seen_at).where(
                    admin_sessions.c.tenant_id == tenant.id,
                    admin_sessions.c.expires_at > now,
                    admin_sessions.c.last_seen_at > now - SESSION_IDLE,
                )
            ):
                live.setdefault(user_id, []).append(seen)
        overview = []
        for user in users:
            until = locked_until(failures.get(user.email, []))
            seen = live.get(user.id, []) if user.disabled_at is None else []
            overview.append(
                UserOverview(
                    user,
                    until if until is not None and until > now else None,
                    len(seen),
                    max(seen, default=None),
                    last_login[user.id],
                )
            )
        return overview

    def change_user_role(self, tenant: Tenant, ref: str, role: str, *, actor: str) -> ConsoleUser:
        """Give a user (id or e-mail address) another role; refused (:class:`Conflict`) if it
        would leave the tenant without an active admin."""
        new_role = _role(role)
        with self.engine.begin() as conn:
            user = self._locked_user(conn, tenant, ref)
            if user.role == new_role:
                return user
            if new_role != Role.ADMIN:
                self._keep_an_admin(conn, tenant, user, "role")
            conn.execute(
                sa.update(admin_users)
                .where(admin_users.c.tenant_id == tenant.id, admin_users.c.user_id == user.id)
                .values(role=new_role.value)
            )
            event = user_changed(
                conn,
                tenant,
                user.id,
                user.email,
                "role_changed",
                actor=actor,
                at=self.now(),
                old=user.role.value,
                new=new_role.value,
            )
        log_user_event(event)
        return replace(user, role=new_role)

    def set_user_active(self, tenant: Tenant, ref: str, active: bool, *, actor: str) -> ConsoleUser:
        """Re-enable a user, or disable them and end their sessions at once; disabling the last
        active admin is refused (:class:`Conflict`)."""
        now = self.now()
        with self.engine.begin() as conn:
            user = self._locked_user(conn, tenant, ref)
            if active == (user.disabled_at is None):
                return user
            if not active:
                self._keep_an_admin(conn, tenant, user, "user")
                self._end_sessions(conn, tenant, user)
            conn.execute(
                sa.update(admin_users)
                .where(admin_users.c.tenant_id == tenant.id, admin_users.c.user_id == user.id)
                .values(disabled_at=None if active else now)
            )
            kind = "enabled" if active else "disabled"
            event = user_changed(conn, tenant, user.id, user.email, kind, actor=actor, at=now)
        log_user_event(event)
        return replace(user, disabled_at=None if active else now)

    def reset_password(self, tenant: Tenant, ref: str, password: str, *, actor: str) -> ConsoleUser:
        """Set a user's password (an admin's reset, or ``consentry users set-password``): ends
        every session of theirs and lifts the lock-out of their address."""
        hashed = self.password_hasher.hash(_password(password))
        with self.engine.begin() as conn:
            user = self._locked_user(conn, tenant, ref)
            self._store_password(conn, tenant, user, hashed)
            conn.execute(
                sa.delete(admin_login_failures).where(
                    admin_login_failures.c.tenant_id == tenant.id,
                    admin_login_failures.c.email == user.email,
                )
            )
            event = user_changed(
                conn, tenant, user.id, user.email, "password_reset", actor=actor, at=self.now()
            )
        log_user_event(event)
        return user

    def change_own_password(
        self,
        tenant: Tenant,
        token: str,
        current: str,
        new: str,
        *,
        ip_address: str | None = None,
    ) -> ConsoleSession:
        """Change the password of the user signed in with ``token``, who gives the current one.

        The new password follows the creation rules and differs from the current one
        (:class:`InvalidInput` naming ``new_password``). A wrong current password is refused as
        a failed log-in is, and counts towards the lock-out (:class:`AuthenticationError` or
        :class:`~consentry.service._users.AccountLocked`). Then every session of the user ends
        and a new one starts: its token replaces the old cookie.
        """
        user = self.session_user(tenant, token)
        if user is None:
            raise AuthenticationError("sign in first", field="session")
        try:
            hashed = self.password_hasher.hash(_password(new))
        except InvalidInput as problem:
            message = problem.message.replace("password", "the new password", 1)
            raise InvalidInput(message, field="new_password") from None
        if secrets.compare_digest(new.encode(), current.encode()):
            raise InvalidInput(
                "the new password must differ from the current one", field="new_password"
            )
        self.authenticate_user(tenant, user.email, current, ip_address=ip_address)
        new_token = secrets.token_urlsafe(32)
        now = self.now()
        with self.engine.begin() as conn:
            self._store_password(conn, tenant, user, hashed)
            conn.execute(
                sa.insert(admin_sessions).values(
                    tenant_id=tenant.id,
                    token_hash=token_hash(new_token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                    last_seen_at=now,
                )
            )
            event = user_changed(
                conn,
                tenant,
                user.id,
                user.email,
                "password_changed",
                actor=f"console:{user.email}",
                at=now,
            )
        log_user_event(event)
        return ConsoleSession(new_token, user, now + SESSION_LIFETIME)

    def user_events(
        self, tenant: Tenant, ref: str, *, limit: int = EVENTS_SHOWN
    ) -> list[ConsoleUserEvent]:
        """The events of one user (id or e-mail address) of ``tenant``, newest first: changes
        (who, what, when, details such as the old and new role) and successful sign-ins.
        Another tenant's user: :class:`NotFound`."""
        with self._read() as conn:
            row = self._user_row(conn, tenant, ref)
            if row is None:
                raise NotFound(f"no user {ref!r}", field="user")
            return console_user_events.list_events(
                conn, tenant.id, user_id=row.user_id, limit=limit
            )

    def _locked_user(self, conn: sa.Connection, tenant: Tenant, ref: str) -> ConsoleUser:
        """The user ``ref`` (id or e-mail address), once every user row of the tenant is locked
        until the end of the transaction (so the admin count cannot change meanwhile)."""
        conn.execute(
            sa.select(admin_users.c.user_id)
            .where(admin_users.c.tenant_id == tenant.id)
            .with_for_update()
        ).all()
        row = self._user_row(conn, tenant, ref)
        if row is None:
            raise NotFound(f"no user {ref!r}", field="user")
        return _user(row)

    def _keep_an_admin(
        self, conn: sa.Connection, tenant: Tenant, user: ConsoleUser, field: str
    ) -> None:
        """Refuse to take ``user`` out of the active admins if no other active admin is left."""
        if user.role != Role.ADMIN or user.disabled_at is not None:
            return
        others = conn.execute(
            sa.select(sa.func.count()).where(
                admin_users.c.tenant_id == tenant.id,
                admin_users.c.user_id != user.id,
                admin_users.c.role == Role.ADMIN.value,
                admin_users.c.disabled_at.is_(None),
            )
        ).scalar_one()
        if not others:
            raise Conflict(
                f"{user.email} is the last active admin: make another user an admin first",
                field=field,
            )

    def _store_password(
        self, conn: sa.Connection, tenant: Tenant, user: ConsoleUser, hashed: str
    ) -> None:
        conn.execute(
            sa.update(admin_users)
            .where(admin_users.c.tenant_id == tenant.id, admin_users.c.user_id == user.id)
            .values(password_hash=hashed)
        )
        self._end_sessions(conn, tenant, user)

    @staticmethod
    def _end_sessions(conn: sa.Connection, tenant: Tenant, user: ConsoleUser) -> None:
        conn.execute(
            sa.delete(admin_sessions).where(
                admin_sessions.c.tenant_id == tenant.id, admin_sessions.c.user_id == user.id
            )
        )
