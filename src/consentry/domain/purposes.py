"""Purposes: what a program's messages are for (marketing, account notifications).

A person may stop one purpose of a brand and keep another. Every program has one purpose (by
default the one its category belongs to, ``rules/purposes.toml``); an opt-out in the scope
``purpose:<brand id>:<purpose>`` blocks every program of that brand with that purpose.

When a revocation comes from someone who agreed to several purposes of a brand, consentry may
ask, in the single confirmation the rule allows, which messages they want to keep; until they
answer with a keep-keyword the revocation covers all of them (47 CFR 64.1200(a)(12)).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

from consentry.domain.model import Scope, ScopeKind


@dataclass(frozen=True, slots=True)
class Purpose:
    """One purpose: its name, how to say it in a reply, and what it is derived from."""

    name: str
    label: str
    categories: tuple[str, ...]
    keep_keywords: tuple[str, ...]
    citation: str


@dataclass(frozen=True, slots=True)
class PurposeRules:
    purposes: dict[str, Purpose]
    answer_within: timedelta
    clarification_citation: str
    setting: str


@cache
def purpose_rules() -> PurposeRules:
    """The reviewed purpose data (``rules/purposes.toml``)."""
    text = resources.files("consentry.rules").joinpath("purposes.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    purposes = {
        name: Purpose(
            name=name,
            label=str(entry["label"]),
            categories=tuple(entry["categories"]),
            keep_keywords=tuple(_normalised(k) for k in entry["keep_keywords"]),
            citation=str(entry["citation"]),
        )
        for name, entry in data["purposes"].items()
    }
    clarification = data["clarification"]
    return PurposeRules(
        purposes=purposes,
        answer_within=timedelta(days=int(clarification["answer_within_days"])),
        clarification_citation=str(clarification["citation"]),
        setting=str(clarification["setting"]),
    )


def purpose_names() -> tuple[str, ...]:
    """Every purpose a program may declare."""
    return tuple(purpose_rules().purposes)


def default_purpose(category: str) -> str:
    """The purpose of a program of ``category`` that declares none."""
    for purpose in purpose_rules().purposes.values():
        if category in purpose.categories:
            return purpose.name
    raise ValueError(f"no purpose lists the category {category!r}")


def purpose_scope(brand_id: str, purpose: str) -> Scope:
    """The opt-out scope of one purpose of one brand."""
    return Scope(ScopeKind.PURPOSE, f"{brand_id}:{purpose}")


def split_purpose_scope(scope: Scope) -> tuple[str, str]:
    """``(brand id, purpose)`` of a purpose scope."""
    brand_id, _, purpose = scope.id.rpartition(":")
    return brand_id, purpose


def kept_purpose(reply: str) -> str | None:
    """The purpose a reply asks to keep (``"ALERTS"`` -> ``"notifications"``), or None."""
    text = _normalised(reply)
    for purpose in purpose_rules().purposes.values():
        if text in purpose.keep_keywords:
            return purpose.name
    return None


def _normalised(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).upper()
    return " ".join(re.sub(r"[^\w\s]", " ", folded).split())
