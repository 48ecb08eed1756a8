"""Console users of a tenant: ``consentry users create | list | disable | set-password``.

The password is never an argument (it would land in the shell history and the process list):
it is asked twice without echo, or read from the first line of standard input with
``--password-stdin`` (for scripts).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from consentry.cli._common import (
    DatabaseOption,
    JsonOption,
    TenantOption,
    _fail,
    _run,
    _service,
    _table_or_json,
    _tenant,
    app,
    err,
)
from consentry.service._users import MIN_PASSWORD_LENGTH, Role

users_app = typer.Typer(help="Admin console users (admin, agent, auditor).", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            _fail("password: nothing on standard input")
        return line.rstrip("\r\n")
    password: str = typer.prompt(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
        hide_input=True,
        confirmation_prompt=True,
        err=True,
    )
    return password


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option("--email", help="The user's e-mail address (log-in).")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="admin (everything), agent (look-ups, opt-outs with "
            "a note) or auditor (read-only, exports).",
        ),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Create a console user. Example: consentry users create -t demo --email ana@demo.example
    --role admin"""
    if role not in {r.value for r in Role}:
        _fail(f"role: must be one of {', '.join(r.value for r in Role)}; got {role!r}")
    service = _service(database)
    account = _tenant(service, tenant)
    password = _read_password(password_stdin)
    user = _run(lambda: service.create_user(account, email, role, password))
    err.print(
        f"user {user.email} ({user.role.value}) created; sign in at /admin/{account.slug}/login",
        highlight=False,
    )


@users_app.command("list")
def users_list(
    tenant: TenantOption = None, database: DatabaseOption = None, as_json: JsonOption = False
) -> None:
    """List the tenant's console users. Example: consentry users list -t demo"""
    service = _service(database)
    account = _tenant(service, tenant)
    rows = [
        {
            "email": user.email,
            "role": user.role.value,
            "id": user.id,
            "created_at": user.created_at.isoformat(),
            "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        }
        for user in service.list_users(account)
    ]
    _table_or_json(rows, as_json)


@users_app.command("disable")
def users_disable(
    user: Annotated[str, typer.Argument(help="E-mail address or user id.")],
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Disable a console user and end their sessions. Example: consentry users disable
    ana@demo.example -t demo"""
    service = _service(database)
    account = _tenant(service, tenant)
    disabled = _run(lambda: service.disable_user(account, user))
    err.print(f"user {disabled.email} disabled; their sessions are ended", highlight=False)


@users_app.command("set-password")
def users_set_password(
    user: Annotated[str, typer.Argument(help="E-mail address or user id.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    tenant: TenantOption = None,
    database: DatabaseOption = None,
) -> None:
    """Set a console user's password (ends their sessions, lifts a lock-out). Example: consentry
    users set-password ana@demo.example -t demo"""
    service = _service(database)
    account = _tenant(service, tenant)
    target = _run(lambda: service.get_user(account, user))
    password = _read_password(password_stdin)
    _run(lambda: service.reset_password(account, target.id, password, actor="cli"))
    err.print(f"password of {target.email} set; their sessions are ended", highlight=False)
