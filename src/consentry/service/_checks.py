"""Input checks shared by the service layers; each error names its field."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

from consentry.domain.model import (
    Program,
    ScopeKind,
    SenderKind,
)
from consentry.errors import InvalidInput, NotFound
from consentry.identifiers import is_slug

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
