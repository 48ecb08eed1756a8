"""Property: whatever sequence of opt-out writes happens, the store agrees with a simple model,
and an opted-out number is never reported as allowed for a sender its opt-out covers."""

from __future__ import annotations

import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry import Consentry, Scope, ScopeKind, ScopeRef

SENDERS = ["+12065550100", "+12065550101"]
NUMBERS = ["+14255550123", "+14255550124", "+14255550125"]

operation = st.tuples(
    st.sampled_from(["add", "remove"]),
    st.sampled_from(NUMBERS),
    st.sampled_from(["sender0", "sender1", "program", "brand", "tenant"]),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(operation, min_size=1, max_size=12))
def test_store_matches_model_and_covering_opt_outs_always_block(
    service: Consentry, operations: list[tuple[str, str, str]]
) -> None:
    tenant, _ = service.create_tenant("Prop", slug=f"p-{secrets.token_hex(6)}")
    brand = service.create_brand(tenant, "Acme", "help@acme.example")
    program = service.create_program(tenant, brand.id, "Alerts")
    service.create_sender(tenant, SENDERS[0], "long_code", programs=[program.id])
    service.create_sender(tenant, SENDERS[1], "long_code")
    scope_of = {
        "sender0": (ScopeRef(ScopeKind.SENDER, SENDERS[0]), Scope(ScopeKind.SENDER, SENDERS[0])),
        "sender1": (ScopeRef(ScopeKind.SENDER, SENDERS[1]), Scope(ScopeKind.SENDER, SENDERS[1])),
        "program": (
            ScopeRef(ScopeKind.PROGRAM, program.slug),
            Scope(ScopeKind.PROGRAM, program.id),
        ),
        "brand": (ScopeRef(ScopeKind.BRAND, brand.slug), Scope(ScopeKind.BRAND, brand.id)),
        "tenant": (ScopeRef(ScopeKind.TENANT), Scope(ScopeKind.TENANT, "")),
    }
    model: set[tuple[str, Scope]] = set()
    for action, number, name in operations:
        ref, scope = scope_of[name]
        if action == "add":
            service.add_optouts(tenant, [number], scope=ref)
            model.add((number, scope))
        else:
            service.remove_optouts(tenant, [number], scope=ref)
            model.discard((number, scope))

    assert {(o.recipient, o.scope) for o in service.export_optouts(tenant)} == model
    covers = {
        SENDERS[0]: {"sender0", "program", "brand", "tenant"},
        SENDERS[1]: {"sender1", "tenant"},
    }
    for sender, names in covers.items():
        for status in service.check_optouts(tenant, NUMBERS, sender=sender):
            expected = any((status.to, scope_of[name][1]) in model for name in names)
            assert status.opted_out is expected, (sender, status)
    assert service.verify_ledger(tenant).ok
