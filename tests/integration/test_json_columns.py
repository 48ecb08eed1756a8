"""JSON columns are written and read by orjson (``store.engine.json_text`` / ``json_value``):
every value the stores write survives the round trip through a real column, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import pytest
import sqlalchemy as sa

from consentry.store.engine import create_store_engine, json_text, json_value


class _Colour(Enum):
    RED = "red"


ROUND_TRIPS: list[tuple[Any, Any]] = [
    ({"a": 1, "b": [1, 2.5, None, True]}, {"a": 1, "b": [1, 2.5, None, True]}),
    (30, 30),  # a bare number (SQLite gives it back as a number)
    ("text with é and \u2603", "text with é and \u2603"),
    ([datetime(2026, 11, 23, 19, 0, tzinfo=UTC)], ["2026-11-23T19:00:00+00:00"]),
    ({"day": date(2026, 11, 23)}, {"day": "2026-11-23"}),
    ({"scopes": frozenset({"b", "a"})}, {"scopes": ["a", "b"]}),  # sets sorted
    ({"pair": ("x", 1)}, {"pair": ["x", 1]}),
    ({1: "int key"}, {"1": "int key"}),  # keys become text, as the json module does
    ({"colour": _Colour.RED}, {"colour": "red"}),
]


@pytest.mark.parametrize(("written", "read"), ROUND_TRIPS)
def test_json_text_round_trip(written: Any, read: Any) -> None:
    assert json_value(json_text(written)) == read


@pytest.mark.parametrize(("written", "read"), ROUND_TRIPS)
def test_json_column_round_trip(database_url: str, written: Any, read: Any) -> None:
    engine = create_store_engine(database_url)
    table = sa.Table(
        "json_round_trip",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
    )
    table.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(table))
            conn.execute(sa.insert(table), [{"id": 1, "value": written}])
        with engine.connect() as conn:
            assert conn.execute(sa.select(table.c.value)).scalar_one() == read
    finally:
        table.drop(engine)
        engine.dispose()


def test_json_value_refuses_a_non_text_value() -> None:
    # SQLAlchemy's SQLite JSON type turns this TypeError into "keep the number as it is".
    with pytest.raises(TypeError):
        json_value(30)  # type: ignore[arg-type]
