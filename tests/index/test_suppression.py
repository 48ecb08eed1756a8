"""The suppression index on its own: applying changes, reading scopes, snapshots (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap64

from consentry.domain.model import Scope, ScopeKind
from consentry.index import Change, SuppressionIndex, key_number, number_key
from consentry.index.loading import numbers_to_keys
from consentry.index.snapshot import MAGIC, SnapshotError, load_with_anchor, save
from consentry.index.views import TenantOptOuts

TENANT = Scope(ScopeKind.TENANT, "")
PROGRAM = Scope(ScopeKind.PROGRAM, "prg_1")
BRAND = Scope(ScopeKind.BRAND, "brd_1")
SENDER = Scope(ScopeKind.SENDER, "+12065550100")
SCOPES = [TENANT, PROGRAM, BRAND, SENDER]


@pytest.mark.parametrize(
    ("number", "key"),
    [
        ("+14155550123", 14155550123),
        ("14155550123", 14155550123),
        ("+447911123456", 447911123456),
        ("+999999999999999", 999999999999999),
        (14155550123, 14155550123),
    ],
)
def test_numbers_map_to_the_integer_of_their_digits(number: str | int, key: int) -> None:
    assert number_key(number) == key
    assert key_number(key) == "+" + str(key)


@pytest.mark.parametrize(
    "bad", ["", "+", "+0123", "+1415555012a", "+1234567890123456", "+١٢٣", 0, -5, 10**15]
)
def test_anything_but_e164_is_refused(bad: str | int) -> None:
    with pytest.raises(ValueError, match=r"not an E\.164 number"):
        number_key(bad)


def test_numbers_convert_in_bulk_to_sorted_unique_keys() -> None:
    keys = numbers_to_keys(["+14155550124", "+14155550123", "+14155550124", "+447911123456"])
    assert keys.tolist() == [14155550123, 14155550124, 447911123456]


def _change(change_id: int, number: int, scope: Scope, op: str, tenant: str = "t1") -> Change:
    return Change(change_id, tenant, number, scope, "add" if op == "add" else "remove")


def test_scopes_of_names_every_scope_holding_the_number_and_nothing_else() -> None:
    index = SuppressionIndex()
    index.apply(
        [
            _change(1, 14155550123, TENANT, "add"),
            _change(2, 14155550123, PROGRAM, "add"),
            _change(3, 14155550124, PROGRAM, "add"),
            _change(4, 14155550123, TENANT, "remove"),
            _change(5, 14155550125, SENDER, "add", tenant="t2"),
        ]
    )
    assert index.change_id == 5
    assert index.scopes_of("t1", "+14155550123") == {PROGRAM}
    assert index.scopes_of("t1", "+14155550124") == {PROGRAM}
    assert index.scopes_of("t1", "+14155550125") == frozenset()  # another tenant's
    assert index.scopes_of("t2", "+14155550125") == {SENDER}
    assert index.scopes("t1") == [PROGRAM]
    assert index.tenants() == ["t1", "t2"]
    assert index.count() == 3 and index.count("t1") == 2
    assert list(index.bitmap("t1", PROGRAM)) == [14155550123, 14155550124]
    assert len(index.bitmap("t1", TENANT)) == 0
    assert index.contains("t1", PROGRAM, 14155550124)
    assert not index.contains("t1", BRAND, 14155550124)


def test_changes_already_covered_are_skipped() -> None:
    index = SuppressionIndex()
    index.apply([_change(1, 14155550123, TENANT, "add"), _change(2, 14155550123, TENANT, "remove")])
    assert index.apply([_change(1, 14155550123, TENANT, "add")]) == 0
    assert index.scopes_of("t1", 14155550123) == frozenset()


def test_handed_out_bitmaps_are_frozen_copies() -> None:
    index = SuppressionIndex()
    index.apply([_change(1, 14155550123, PROGRAM, "add")])
    seen = index.bitmap("t1", PROGRAM)
    with pytest.raises(AttributeError):
        seen.add(1)  # type: ignore[attr-defined]
    index.apply([_change(2, 14155550124, PROGRAM, "add")])
    assert list(seen) == [14155550123]
    assert list(index.bitmap("t1", PROGRAM)) == [14155550123, 14155550124]


def test_the_gate_view_maps_recipients_to_scopes() -> None:
    index = SuppressionIndex()
    index.apply([_change(1, 14155550123, PROGRAM, "add"), _change(2, 14155550123, SENDER, "add")])
    view = TenantOptOuts(index, "t1")
    assert view.get("+14155550123") == frozenset({PROGRAM, SENDER})
    assert view.get("+14155550124") is None and view.get("garbage") is None
    assert "+14155550123" in view and "not a number" not in view
    assert list(view) == ["+14155550123"] and len(view) == 1
    with pytest.raises(KeyError):
        view["+14155550124"]


_op = st.tuples(
    st.sampled_from(["t1", "t2"]),
    st.integers(min_value=12002000000, max_value=12002000040),
    st.sampled_from(SCOPES),
    st.sampled_from(["add", "remove"]),
)


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(_op, max_size=80), split=st.integers(min_value=0, max_value=80))
def test_the_index_equals_a_plain_model_of_the_changes(
    ops: list[tuple[str, int, Scope, str]], split: int
) -> None:
    model: dict[str, dict[Scope, set[int]]] = {}
    changes = []
    for change_id, (tenant, number, scope, op) in enumerate(ops, start=1):
        held = model.setdefault(tenant, {}).setdefault(scope, set())
        (held.add if op == "add" else held.discard)(number)
        changes.append(_change(change_id, number, scope, op, tenant))
    index = SuppressionIndex()
    index.apply(changes[:split])  # in two batches: the second starts where the first ended
    index.apply(changes)
    for tenant in ("t1", "t2"):
        expected = {s: held for s, held in model.get(tenant, {}).items() if held}
        assert index.scopes(tenant) == sorted(expected, key=lambda s: (s.kind.value, s.id))
        for scope in SCOPES:
            assert set(index.bitmap(tenant, scope)) == expected.get(scope, set())
        assert set(index.union(tenant)) == set().union(*expected.values())
        for number in range(12002000000, 12002000041):
            assert index.scopes_of(tenant, number) == {
                s for s, held in expected.items() if number in held
            }


def _sample() -> SuppressionIndex:
    index = SuppressionIndex()
    index.add_keys("t1", PROGRAM, BitMap64(range(12002000000, 12002100000, 7)))
    index.add_keys("t1", TENANT, BitMap64([14155550123]))
    index.add_keys("t2", Scope(ScopeKind.SENDER, "ACME"), BitMap64([447911123456]))
    index.set_change_id(42)
    return index


def test_a_snapshot_round_trips(tmp_path: Path) -> None:
    index = _sample()
    path = tmp_path / "index.snap"
    size = save(index, path, "anchor-42")
    assert size == path.stat().st_size
    loaded, anchor = load_with_anchor(path)
    assert anchor == "anchor-42"
    assert loaded.change_id == 42
    assert [(t, s, set(b)) for t, s, b in loaded.entries()] == [
        (t, s, set(b)) for t, s, b in index.entries()
    ]
    assert SuppressionIndex.load(path).scopes_of("t2", "+447911123456") == {
        Scope(ScopeKind.SENDER, "ACME")
    }


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:-1], "damaged"),
        (lambda data: data[:100], "damaged"),
        (lambda data: data[:40] + bytes([data[40] ^ 1]) + data[41:], "damaged"),
        (lambda data: b"NOT-A-SNAPSHOT" + data[14:], "not a suppression index snapshot"),
        (lambda data: b"", "not a suppression index snapshot"),
    ],
)
def test_a_damaged_snapshot_is_refused(tmp_path: Path, damage: object, message: str) -> None:
    path = tmp_path / "index.snap"
    SuppressionIndex.save(_sample(), path)
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SnapshotError, match=message):
        SuppressionIndex.load(path)


def test_a_snapshot_of_another_format_version_is_refused(tmp_path: Path) -> None:
    import hashlib
    import struct

    path = tmp_path / "index.snap"
    SuppressionIndex.save(_sample(), path)
    data = bytearray(path.read_bytes()[:-32])
    struct.pack_into("<I", data, len(MAGIC), 99)
    path.write_bytes(bytes(data) + hashlib.sha256(bytes(data)).digest())
    with pytest.raises(SnapshotError, match="format 99"):
        SuppressionIndex.load(path)


def test_a_missing_snapshot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read"):
        SuppressionIndex.load(tmp_path / "absent.snap")
