"""The screening pipeline on its own: readers, verdicts per row, outputs, summary."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyroaring import BitMap64

from consentry.errors import InvalidInput
from consentry.screening import (
    INVALID_NUMBER,
    NO_CONSENT,
    ListFormat,
    Suppression,
    guess_format,
    open_list,
    readers,
    screen_numbers,
    screen_source,
)

TENANT = "opted_out:tenant"
PROGRAM = "opted_out:program:coffee-club"

ROWS = [
    ("1", "+12065550100", "Ann"),  # opted out (program)
    ("2", "(425) 555-0123", "Bo, Jr."),  # consented, allowed
    ("3", "not a number", "Cy"),  # invalid
    ("4", "206.555.0101", "Di"),  # opted out (tenant and program: tenant named)
    ("5", "+442071838750", "Ed"),  # no consent
    ("6", "+1 425 555 0123", "Fay"),  # same number as row 2, allowed
]


def _suppression(consent: bool = True) -> Suppression:
    return Suppression(
        {
            TENANT: BitMap64([12065550101]),
            PROGRAM: BitMap64([12065550100, 12065550101]),
        },
        consented=BitMap64([14255550123, 12065550100]) if consent else None,
    )


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "phone", "name"])
        writer.writerows(rows)
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_screen_numbers_codes_each_row() -> None:
    numbers = np.array([12065550100, 14255550123, 0, 12065550101, 442071838750], dtype=np.int64)
    verdict = screen_numbers(numbers, _suppression())
    reasons = ("", *_suppression().reasons)
    assert [reasons[code] for code in verdict.codes] == [
        PROGRAM,
        "",
        INVALID_NUMBER,
        TENANT,
        NO_CONSENT,
    ]


def test_screen_numbers_without_any_suppression() -> None:
    verdict = screen_numbers(np.array([12065550100, 12065550100], dtype=np.int64), Suppression({}))
    assert verdict.allowed.tolist() == [True, True]
    all_invalid = screen_numbers(np.zeros(3, dtype=np.int64), Suppression({}))
    assert all_invalid.codes.tolist() == [1, 1, 1]


def test_csv_end_to_end(tmp_path: Path) -> None:
    source = open_list(_write_csv(tmp_path / "in.csv", ROWS), "phone")
    summary = screen_source(
        source,
        _suppression(),
        allowed=str(tmp_path / "ok.csv"),
        suppressed=str(tmp_path / "no.csv"),
    )
    assert (summary.rows, summary.allowed, summary.suppressed_total) == (6, 2, 4)
    assert summary.suppressed == {INVALID_NUMBER: 1, TENANT: 1, PROGRAM: 1, NO_CONSENT: 1}
    assert _read(tmp_path / "ok.csv") == [
        {"id": "2", "phone": "(425) 555-0123", "name": "Bo, Jr."},
        {"id": "6", "phone": "+1 425 555 0123", "name": "Fay"},
    ]
    assert [(r["id"], r["reason"]) for r in _read(tmp_path / "no.csv")] == [
        ("1", PROGRAM),
        ("3", INVALID_NUMBER),
        ("4", TENANT),
        ("5", NO_CONSENT),
    ]


def test_many_chunks_keep_order_and_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "BLOCK_SIZE", 256)  # many small chunks
    rows = [(str(i), f"+1206555{i:04d}", f"n{i}") for i in range(2000)]
    opted = BitMap64(range(12065550000, 12065552000, 3))
    source = open_list(_write_csv(tmp_path / "in.csv", rows), "phone")
    seen: list[int] = []
    summary = screen_source(
        source,
        Suppression({TENANT: opted}),
        allowed=str(tmp_path / "ok.csv"),
        suppressed=str(tmp_path / "no.csv"),
        progress=lambda rows, _position: seen.append(rows),
    )
    assert len(seen) > 10 and sum(seen) == 2000
    assert summary.suppressed == {TENANT: 667}
    assert [r["id"] for r in _read(tmp_path / "no.csv")] == [str(i) for i in range(0, 2000, 3)]
    assert len(_read(tmp_path / "ok.csv")) == 1333


def test_plain_list_keeps_its_shape(tmp_path: Path) -> None:
    path = tmp_path / "numbers.txt"
    path.write_text("+12065550100\n(425) 555-0123\n\n206 555 0101\nnope, really\n")
    assert guess_format(str(path)) is ListFormat.LIST
    summary = screen_source(
        open_list(path, None),
        _suppression(consent=False),
        allowed=str(tmp_path / "ok.txt"),
        suppressed=str(tmp_path / "no.csv"),
    )
    assert summary.as_dict()["suppressed_by_reason"] == {
        INVALID_NUMBER: 1,
        TENANT: 1,
        PROGRAM: 1,
    }
    assert (tmp_path / "ok.txt").read_text() == "(425) 555-0123\n"
    assert [r["number"] for r in _read(tmp_path / "no.csv")] == [
        "+12065550100",
        "206 555 0101",
        "nope, really",
    ]


def test_parquet_input(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "mobile": ["+12065550100", "4255550123", None],
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    summary = screen_source(
        open_list(tmp_path / "in.parquet", "mobile"),
        _suppression(consent=False),
        suppressed=str(tmp_path / "no.csv"),
    )
    assert (summary.rows, summary.allowed) == (3, 1)
    assert [(r["id"], r["reason"]) for r in _read(tmp_path / "no.csv")] == [
        ("1", PROGRAM),
        ("3", INVALID_NUMBER),
    ]


def test_empty_outputs_still_have_headers(tmp_path: Path) -> None:
    source = open_list(_write_csv(tmp_path / "in.csv", [("1", "+14255550123", "Bo")]), "phone")
    screen_source(
        source,
        Suppression({}),
        allowed=str(tmp_path / "ok.csv"),
        suppressed=str(tmp_path / "no.csv"),
    )
    assert (tmp_path / "no.csv").read_text().splitlines() == ['"id","phone","name","reason"']
    assert len(_read(tmp_path / "ok.csv")) == 1


@pytest.mark.parametrize(
    ("content", "name", "column", "field", "words"),
    [
        (b"id,mobile\n1,+12065550100\n", "in.csv", "phone", "column", "no column 'phone'"),
        (b"", "in.csv", "phone", "file", "empty"),
        (b"not parquet at all", "in.parquet", "phone", "file", "cannot read"),
        (b"id,phone\n1,+12065550100\n", "in.csv", None, "column", "name the column"),
    ],
)
def test_bad_input_names_the_problem(
    tmp_path: Path, content: bytes, name: str, column: str | None, field: str, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as raised:
        source = open_list(path, column)
        list(source.batches())
    assert raised.value.field == field
    assert words in raised.value.message


def test_missing_file_and_bytes_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no file"):
        open_list(tmp_path / "absent.csv", "phone")
    source = open_list(b"phone\n+12065550100\n+14255550123\n", "phone")
    summary = screen_source(source, _suppression(consent=False))
    assert (summary.rows, summary.allowed) == (2, 1)


def test_ragged_csv_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,phone\n1,+12065550100\n2,+14255550123,extra\n")
    with pytest.raises(InvalidInput) as raised:
        screen_source(open_list(path, "phone"), Suppression({}))
    assert raised.value.field == "file"


@pytest.mark.parametrize(
    ("content", "column", "suffix"),
    [
        (b"\xef\xbb\xbfphone\r\n+12065550100\r\n(425) 555-0123\r\n", "phone", ".csv"),
        (b"\xef\xbb\xbf+12065550100\r\n4255550123\r\n", None, ".txt"),
    ],
)
def test_byte_order_mark_and_crlf(
    tmp_path: Path, content: bytes, column: str | None, suffix: str
) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_bytes(content)
    summary = screen_source(open_list(path, column), _suppression(consent=False))
    assert (summary.rows, summary.allowed, summary.suppressed) == (2, 1, {PROGRAM: 1})
