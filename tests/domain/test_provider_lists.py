"""Opt-out lists in provider formats (pure: writers and readers)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from consentry.domain import provider_lists
from consentry.domain.model import OptOut, OptOutSource, Scope, ScopeKind
from consentry.domain.provider_lists import ListedNumber, ListFormat
from consentry.errors import InvalidInput

ALICE = "+14255550123"
BOB = "+14255550124"
T1 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
T2 = datetime(2024, 2, 2, 3, 4, 5, tzinfo=UTC)
T3 = datetime(2024, 3, 2, 3, 4, 5, tzinfo=UTC)


def _optout(number: str, scope: Scope, at: datetime) -> OptOut:
    return OptOut(number, scope, OptOutSource.API, at, f"ev-{number}-{at:%m}")


def test_merge_keeps_each_number_once_with_its_earliest_time_and_sender() -> None:
    merged = provider_lists.merge(
        [
            _optout(ALICE, Scope(ScopeKind.SENDER, "+12065550101"), T3),
            _optout(ALICE, Scope(ScopeKind.TENANT, ""), T1),
            _optout(ALICE, Scope(ScopeKind.SENDER, "+12065550100"), T2),
            _optout(BOB, Scope(ScopeKind.PROGRAM, "prg_1"), T2),
        ]
    )
    assert merged == [
        ListedNumber(ALICE, T1, "+12065550100"),
        ListedNumber(BOB, T2, None),
    ]


LISTED = [ListedNumber(ALICE, T1, "+12065550100"), ListedNumber(BOB, T2, None)]


def test_twilio_writer() -> None:
    text = "".join(provider_lists.write(ListFormat.TWILIO, LISTED))
    assert list(csv.reader(io.StringIO(text))) == [
        ["phone_number", "opted_out_at"],
        [ALICE, "2024-01-02T03:04:05+00:00"],
        [BOB, "2024-02-02T03:04:05+00:00"],
    ]


def test_aws_writer() -> None:
    text = "".join(provider_lists.write(ListFormat.AWS, LISTED))
    assert json.loads(text) == {
        "OptedOutNumbers": [
            {"OptedOutNumber": ALICE, "OptedOutTimestamp": "2024-01-02T03:04:05+00:00"},
            {"OptedOutNumber": BOB, "OptedOutTimestamp": "2024-02-02T03:04:05+00:00"},
        ],
        "NextToken": None,
    }


def test_azure_writer() -> None:
    text = "".join(provider_lists.write(ListFormat.AZURE, LISTED))
    assert json.loads(text) == {
        "value": [
            {"to": ALICE, "from": "+12065550100", "isOptedOut": True},
            {"to": BOB, "from": None, "isOptedOut": True},
        ]
    }


@pytest.mark.parametrize("fmt", [ListFormat.TWILIO, ListFormat.AWS, ListFormat.AZURE])
def test_every_writer_reads_back(fmt: ListFormat) -> None:
    text = "".join(provider_lists.write(fmt, LISTED))
    assert [number for _, number in provider_lists.read(fmt, text)] == [ALICE, BOB]


def test_empty_lists_write_and_read_back() -> None:
    for fmt in (ListFormat.TWILIO, ListFormat.AWS, ListFormat.AZURE):
        assert provider_lists.read(fmt, "".join(provider_lists.write(fmt, []))) == []


def test_twilio_reader_uses_file_lines_and_ignores_other_columns() -> None:
    text = "\ufeffOpted_Out_At,Phone_Number,note\n2024-01-02T03:04:05Z,+14255550123,x\n\n,(425) 555-0124,\n"
    assert provider_lists.read_twilio(text) == [(2, ALICE), (4, "(425) 555-0124")]


def test_aws_reader_accepts_epoch_seconds_and_missing_timestamps() -> None:
    text = json.dumps(
        {
            "OptedOutNumbers": [
                {"OptedOutNumber": ALICE, "OptedOutTimestamp": 1704164645.0},
                {"OptedOutNumber": BOB},
            ],
            "NextToken": "abc",
        }
    )
    assert provider_lists.read_aws(text) == [(1, ALICE), (2, BOB)]


def test_azure_reader_skips_numbers_not_opted_out() -> None:
    text = json.dumps(
        {
            "value": [
                {"to": ALICE, "from": "+12065550100", "isOptedOut": False, "httpStatusCode": 200},
                {"to": BOB, "from": "+12065550100", "isOptedOut": True},
                {"to": "+14255550125"},
            ]
        }
    )
    assert provider_lists.read_azure(text) == [(2, BOB), (3, "+14255550125")]


@pytest.mark.parametrize(
    ("fmt", "text", "field"),
    [
        (ListFormat.TWILIO, "", "file"),
        (ListFormat.TWILIO, "phone,opted_out_at\n+14255550123,\n", "file"),
        (ListFormat.TWILIO, "phone_number,opted_out_at\n+14255550123,yesterday\n", "opted_out_at"),
        (ListFormat.AWS, "{not json", "file"),
        (ListFormat.AWS, "[]", "OptedOutNumbers"),
        (ListFormat.AWS, '{"OptedOutNumbers": {}}', "OptedOutNumbers"),
        (ListFormat.AWS, '{"OptedOutNumbers": [1]}', "OptedOutNumbers[0]"),
        (
            ListFormat.AWS,
            '{"OptedOutNumbers": [{"OptedOutNumber": "+14255550123"}, {"Number": "x"}]}',
            "OptedOutNumbers[1].OptedOutNumber",
        ),
        (
            ListFormat.AWS,
            '{"OptedOutNumbers": [{"OptedOutNumber": "+14255550123", "OptedOutTimestamp": "soon"}]}',
            "OptedOutNumbers[0].OptedOutTimestamp",
        ),
        (
            ListFormat.AWS,
            '{"OptedOutNumbers": [{"OptedOutNumber": "+14255550123", "OptedOutTimestamp": true}]}',
            "OptedOutNumbers[0].OptedOutTimestamp",
        ),
        (ListFormat.AZURE, "", "file"),
        (ListFormat.AZURE, '{"values": []}', "value"),
        (ListFormat.AZURE, '{"value": [{"to": 14255550123}]}', "value[0].to"),
        (
            ListFormat.AZURE,
            '{"value": [{"to": "+14255550123", "isOptedOut": "yes"}]}',
            "value[0].isOptedOut",
        ),
    ],
)
def test_malformed_files_are_refused_naming_the_field(
    fmt: ListFormat, text: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        provider_lists.read(fmt, text)
    assert raised.value.field == field
    assert raised.value.message


def test_twilio_time_error_names_the_line() -> None:
    with pytest.raises(InvalidInput, match="line 3"):
        provider_lists.read_twilio("phone_number,opted_out_at\n+14255550123,\n+14255550124,x\n")


def test_consentry_is_not_a_provider_format() -> None:
    with pytest.raises(InvalidInput):
        provider_lists.read(ListFormat.CONSENTRY, "+14255550123\n")
    with pytest.raises(InvalidInput):
        provider_lists.write(ListFormat.CONSENTRY, [])
