"""Input checks shared by the service layers; each error names its field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa

from consentry.domain.model import (
    Program,
    ScopeKind,
    SenderKind,
)
from consentry.domain.numbers import normalize_sender, to_e164
from consentry.errors import InvalidInput, NotFound
from consentry.identifiers import is_slug
from consentry.store import registry

_T = TypeVar("_T")
_E = TypeVar("_E", ScopeKind, SenderKind)


def required_text(value: Any, field_name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field_name} is required", field=field_name)
    text = value.strip()
    if len(text) > max_length:
        raise InvalidInput(f"{field_name} is longer than {max_length} characters", field=field_name)
    return text


def optional_reply(value: str | None, field_name: str) -> str | None:
    if value is None:
        return None
    return required_text(value, field_name, 480)


def optional_text(value: str | None, field_name: str, max_length: int) -> str | None:
    return None if value is None else required_text(value, field_name, max_length)


def positive_int(value: int | None, default: int, field_name: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36_500:
        raise InvalidInput(f"{field_name} must be a whole number from 1 to 36500", field=field_name)
    return value


def web_url(value: str | None, field_name: str) -> str | None:
    """An absolute ``https://`` (or ``http://``) URL with a host, or None."""
    if value is None:
        return None
    text = required_text(value, field_name, 2000)
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in text):
        raise InvalidInput(
            f"{field_name} must be an absolute https:// URL; got {text!r}", field=field_name
        )
    return text


def valid_slug(value: str, field_name: str) -> str:
    if not isinstance(value, str) or not is_slug(value):
        raise InvalidInput(
            f"{value!r} is not a valid slug (lower-case letters, digits and hyphens, at most 64)",
            field=field_name,
        )
    return value


def scope_kind(value: str, field_name: str) -> ScopeKind:
    return enum_value(ScopeKind, value, field_name)


def enum_value(kind: type[_E], value: Any, field_name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(
            f"{field_name} must be one of {choices}; got {value!r}", field=field_name
        ) from None


def found(value: _T | None, what: str, ref: str, field_name: str | None = None) -> _T:
    if value is None:
        raise NotFound(f"no {what} {ref!r} in this tenant", field=field_name or what)
    return value


def with_brand(program: Program, brand_id: str) -> Program:
    return replace(program, brand_id=brand_id)


def one_of(value: Any, choices: tuple[str, ...] | list[str], field_name: str) -> str:
    """``value`` if it is one of ``choices``, else InvalidInput naming the field."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(
            f"{field_name} must be one of {', '.join(choices)}; got {value!r}", field=field_name
        )
    return value


def use_case_id(value: Any) -> str | None:
    """A program's use case: a short identifier such as lead_generation, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_slug(value.replace("_", "-")):
        raise InvalidInput(
            "use_case must be a short identifier such as lead_generation", field="use_case"
        )
    return value


def flag(value: Any, field_name: str) -> bool:
    """A setting that is on or off: ``True`` or ``False`` only (not 1, "yes" or null)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{field_name} must be true or false; got {value!r}", field=field_name)
    return value


def optional_phone(value: Any, region: str, field_name: str) -> str | None:
    """A phone number in E.164 (e.g. a brand's support phone), or None when none is given."""
    return to_e164(value, region, field=field_name) if value else None


def sender_kind(value: Any) -> SenderKind:
    """A sender's kind (long_code, toll_free, short_code, alphanumeric)."""
    return enum_value(SenderKind, value, "kind")


def sender_address(value: Any, kind: SenderKind, region: str) -> str:
    """A sender address normalised for its kind (a number that does not fit it is refused)."""
    return normalize_sender(value, kind, region)


def program_ids_of(conn: sa.Connection, tenant_id: str, refs: Sequence[str]) -> tuple[str, ...]:
    """The ids of the tenant's programs ``refs`` (ids or slugs), each once, in the given order;
    an unknown program (or another tenant's) is ``NotFound`` naming ``program_ids``."""
    if isinstance(refs, str) or not isinstance(refs, Sequence):
        raise InvalidInput(
            "program_ids must be a list of program ids or slugs", field="program_ids"
        )
    program_ids: list[str] = []
    for ref in refs:
        if not isinstance(ref, str):
            raise InvalidInput(
                f"program_ids must hold program ids or slugs; got {ref!r}", field="program_ids"
            )
        program = found(registry.find_program(conn, tenant_id, ref), "program", ref, "program_ids")
        if program.id not in program_ids:
            program_ids.append(program.id)
    return tuple(program_ids)
