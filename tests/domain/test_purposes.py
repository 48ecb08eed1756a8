"""Purposes: defaults from the category, keep-keywords, coverage, and the clarifying reply."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.model import Program, Scope, ScopeKind
from consentry.domain.purposes import (
    default_purpose,
    kept_purpose,
    purpose_names,
    purpose_rules,
    purpose_scope,
    split_purpose_scope,
)
from consentry.domain.replies import SINGLE_SEGMENT_SEPTETS, gsm7_length, opt_out_clarification
from consentry.domain.scopes import TENANT_SCOPE, covering_program, covering_purpose

NOW = datetime(2026, 11, 23, tzinfo=UTC)
CLUB = Program(
    id="prg_club",
    tenant_id="tnt",
    brand_id="brd_coffee",
    slug="club",
    name="Club",
    category="marketing",
    opt_out_scope=ScopeKind.PROGRAM,
    help_reply=None,
    opt_out_reply=None,
    opt_in_reply=None,
    created_at=NOW,
    purpose="marketing",
)
UPDATES = replace(
    CLUB, id="prg_updates", slug="updates", category="transactional", purpose="notifications"
)


@pytest.mark.parametrize(
    ("category", "purpose"),
    [
        ("marketing", "marketing"),
        ("informational", "notifications"),
        ("transactional", "notifications"),
        ("conversational", "notifications"),
    ],
)
def test_every_category_has_a_default_purpose(category: str, purpose: str) -> None:
    assert default_purpose(category) == purpose


def test_an_unknown_category_has_no_purpose() -> None:
    with pytest.raises(ValueError, match="newsletter"):
        default_purpose("newsletter")


def test_every_purpose_cites_its_source_and_has_a_keep_keyword() -> None:
    rules = purpose_rules()
    assert set(purpose_names()) == {"marketing", "notifications"}
    for purpose in rules.purposes.values():
        assert "64.1200" in purpose.citation
        assert purpose.keep_keywords
    assert "64.1200(a)(12)" in rules.clarification_citation


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        ("ALERTS", "notifications"),
        ("alerts", "notifications"),
        ("  Keep alerts! ", "notifications"),
        ("notifications", "notifications"),
        ("OFFERS", "marketing"),
        ("deals.", "marketing"),
        ("STOP", None),
        ("alerts please", None),
        ("", None),
    ],
)
def test_keep_keywords(reply: str, kept: str | None) -> None:
    assert kept_purpose(reply) == kept


def test_a_purpose_scope_sits_between_brand_and_program() -> None:
    scope = purpose_scope("brd_coffee", "marketing")
    assert scope == Scope(ScopeKind.PURPOSE, "brd_coffee:marketing")
    assert split_purpose_scope(scope) == ("brd_coffee", "marketing")
    assert scope in covering_program(CLUB)
    assert scope not in covering_program(UPDATES)
    assert covering_purpose("brd_coffee", "marketing") == {
        TENANT_SCOPE,
        Scope(ScopeKind.BRAND, "brd_coffee"),
        scope,
    }


KEEP = [("account notifications", "ALERTS"), ("marketing messages", "OFFERS")]


def test_the_clarifying_reply_offers_each_purpose_and_says_everything_stopped() -> None:
    text = opt_out_clarification("Demo Coffee", KEEP)
    assert text.startswith("Demo Coffee: You are unsubscribed from all messages.")
    assert "reply ALERTS to keep account notifications" in text
    assert "reply OFFERS to keep marketing messages" in text


@given(brand=st.text(min_size=0, max_size=120))
def test_the_clarifying_reply_always_fits_one_gsm7_segment(brand: str) -> None:
    text = opt_out_clarification(brand, KEEP)
    septets = gsm7_length(text)
    assert septets is not None and septets <= SINGLE_SEGMENT_SEPTETS
    assert "unsubscribed from all messages" in text
