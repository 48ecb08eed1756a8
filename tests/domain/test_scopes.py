"""Opt-out scopes: a wider scope covers every narrower one; keyword opt-outs land where the
program says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.model import Program, Scope, ScopeKind
from consentry.domain.scopes import (
    TENANT_SCOPE,
    SenderContext,
    covering_brand,
    covering_program,
    covering_sender,
    keyword_scopes,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def program(
    program_id: str, brand_id: str = "brd_a", scope: ScopeKind = ScopeKind.PROGRAM
) -> Program:
    return Program(
        id=program_id,
        tenant_id="tnt",
        brand_id=brand_id,
        slug=program_id,
        name=program_id,
        category="informational",
        opt_out_scope=scope,
        help_reply=None,
        opt_out_reply=None,
        opt_in_reply=None,
        created_at=NOW,
    )


def test_a_sender_is_covered_by_tenant_its_address_its_programs_and_their_brands() -> None:
    sender = SenderContext("+12065550100", (program("p1", "b1"), program("p2", "b2")))
    assert covering_sender(sender) == {
        TENANT_SCOPE,
        Scope(ScopeKind.SENDER, "+12065550100"),
        Scope(ScopeKind.PROGRAM, "p1"),
        Scope(ScopeKind.PROGRAM, "p2"),
        Scope(ScopeKind.BRAND, "b1"),
        Scope(ScopeKind.BRAND, "b2"),
        Scope(ScopeKind.PURPOSE, "b1:marketing"),
        Scope(ScopeKind.PURPOSE, "b2:marketing"),
    }


def test_program_and_brand_coverage_do_not_include_sender_scopes() -> None:
    assert covering_program(program("p1", "b1")) == {
        TENANT_SCOPE,
        Scope(ScopeKind.BRAND, "b1"),
        Scope(ScopeKind.PURPOSE, "b1:marketing"),
        Scope(ScopeKind.PROGRAM, "p1"),
    }
    assert covering_brand("b1") == {TENANT_SCOPE, Scope(ScopeKind.BRAND, "b1")}


@pytest.mark.parametrize(
    ("programs", "account_wide", "expected"),
    [
        ((), False, (Scope(ScopeKind.SENDER, "+12065550100"),)),
        ((), True, (TENANT_SCOPE,)),
        ((program("p1"),), False, (Scope(ScopeKind.PROGRAM, "p1"),)),
        ((program("p1"),), True, (TENANT_SCOPE,)),
        ((program("p1", "b1", ScopeKind.BRAND),), False, (Scope(ScopeKind.BRAND, "b1"),)),
        (
            (program("p1", scope=ScopeKind.SENDER),),
            False,
            (Scope(ScopeKind.SENDER, "+12065550100"),),
        ),
        ((program("p1", scope=ScopeKind.TENANT),), False, (TENANT_SCOPE,)),
        (
            (program("p1", "b1", ScopeKind.PURPOSE),),
            False,
            (Scope(ScopeKind.PURPOSE, "b1:marketing"),),
        ),
        (
            (program("p1", "b1", ScopeKind.BRAND), program("p2", "b1", ScopeKind.BRAND)),
            False,
            (Scope(ScopeKind.BRAND, "b1"),),
        ),
        (
            (program("p1"), program("p2")),
            False,
            (Scope(ScopeKind.PROGRAM, "p1"), Scope(ScopeKind.PROGRAM, "p2")),
        ),
    ],
)
def test_keyword_scopes(
    programs: tuple[Program, ...], account_wide: bool, expected: tuple[Scope, ...]
) -> None:
    assert (
        keyword_scopes(SenderContext("+12065550100", programs), account_wide=account_wide)
        == expected
    )


scope_kinds = st.sampled_from(list(ScopeKind))


@given(
    kinds=st.lists(scope_kinds, min_size=0, max_size=4),
    account_wide=st.booleans(),
)
def test_a_keyword_opt_out_always_blocks_the_sender_it_was_sent_to(
    kinds: list[ScopeKind], account_wide: bool
) -> None:
    sender = SenderContext(
        "+12065550100", tuple(program(f"p{i}", f"b{i % 2}", kind) for i, kind in enumerate(kinds))
    )
    landed = keyword_scopes(sender, account_wide=account_wide)
    assert landed
    assert set(landed) <= covering_sender(sender)
