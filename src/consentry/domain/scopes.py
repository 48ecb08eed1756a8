"""Which opt-out scopes cover a message, and which scope a keyword opt-out lands in.

Scopes nest: tenant (the whole account) > brand > purpose (one purpose of a brand, e.g. its
marketing) > program; a sender scope covers one sender address. An opt-out in a wider scope
blocks every narrower one, so a message from sender S in program P (purpose U) of brand B is
blocked by an opt-out at tenant, at brand B, at purpose B:U, at program P or at sender S.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from consentry.domain.model import Program, Scope, ScopeKind
from consentry.domain.purposes import purpose_scope

TENANT_SCOPE = Scope(ScopeKind.TENANT, "")


@dataclass(frozen=True, slots=True)
class SenderContext:
    """What the scope rules need to know about one sender: its address and its programs."""

    address: str
    programs: tuple[Program, ...] = ()


def covering_sender(sender: SenderContext) -> frozenset[Scope]:
    """Every scope whose opt-out blocks a message from ``sender`` (in any of its programs)."""
    scopes = {TENANT_SCOPE, Scope(ScopeKind.SENDER, sender.address)}
    for program in sender.programs:
        scopes.add(Scope(ScopeKind.PROGRAM, program.id))
        scopes.add(purpose_scope(program.brand_id, program.purpose))
        scopes.add(Scope(ScopeKind.BRAND, program.brand_id))
    return frozenset(scopes)


def covering_program(program: Program) -> frozenset[Scope]:
    """Every scope whose opt-out blocks every message of ``program``."""
    return frozenset(
        {
            TENANT_SCOPE,
            Scope(ScopeKind.BRAND, program.brand_id),
            purpose_scope(program.brand_id, program.purpose),
            Scope(ScopeKind.PROGRAM, program.id),
        }
    )


def covering_brand(brand_id: str) -> frozenset[Scope]:
    """Every scope whose opt-out blocks every message of a brand."""
    return frozenset({TENANT_SCOPE, Scope(ScopeKind.BRAND, brand_id)})


def covering_purpose(brand_id: str, purpose: str) -> frozenset[Scope]:
    """Every scope whose opt-out blocks every message of one purpose of a brand."""
    return frozenset(
        {TENANT_SCOPE, Scope(ScopeKind.BRAND, brand_id), purpose_scope(brand_id, purpose)}
    )


def keyword_scopes(sender: SenderContext, *, account_wide: bool) -> tuple[Scope, ...]:
    """The scopes an opt-out keyword sent to ``sender`` lands in.

    STOPALL and its equivalents reach the whole tenant. Otherwise each program the sender serves
    decides by its ``opt_out_scope`` (default: the program); a sender serving no program gets a
    sender-scope opt-out, so the keyword is honoured even before the registry is complete.
    """
    if account_wide:
        return (TENANT_SCOPE,)
    if not sender.programs:
        return (Scope(ScopeKind.SENDER, sender.address),)
    return _unique(_program_scope(sender, program) for program in sender.programs)


def _program_scope(sender: SenderContext, program: Program) -> Scope:
    if program.opt_out_scope is ScopeKind.TENANT:
        return TENANT_SCOPE
    if program.opt_out_scope is ScopeKind.BRAND:
        return Scope(ScopeKind.BRAND, program.brand_id)
    if program.opt_out_scope is ScopeKind.SENDER:
        return Scope(ScopeKind.SENDER, sender.address)
    if program.opt_out_scope is ScopeKind.PURPOSE:
        return purpose_scope(program.brand_id, program.purpose)
    return Scope(ScopeKind.PROGRAM, program.id)


def _unique(scopes: Iterable[Scope]) -> tuple[Scope, ...]:
    return tuple(dict.fromkeys(scopes))
