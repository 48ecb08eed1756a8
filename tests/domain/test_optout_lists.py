"""Reading opt-out list files (pure: lines in, (line, value) out)."""

from __future__ import annotations

import pytest

from consentry.domain.optout_lists import read_numbers
from consentry.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("+14255550123\n4255550124\n", [(1, "+14255550123"), (2, "4255550124")]),
        (
            "\ufeff+14255550123\r\n\r\n(425) 555-0124\r\n",
            [(1, "+14255550123"), (3, "(425) 555-0124")],
        ),
        ("phone\n+14255550123\n", [(2, "+14255550123")]),
        (
            "Name,Phone Number,Phone\nAda,x,+14255550123\n,,\nBo,y,\n",
            [(2, "+14255550123"), (4, "")],
        ),
        ('id,"to"\n1,"+1 425 555 0123"\n', [(2, "+1 425 555 0123")]),
        ("MSISDN\n14255550123\n", [(2, "14255550123")]),
        ("", []),
    ],
)
def test_plain_lists_and_csv_with_a_phone_column(text: str, rows: list[tuple[int, str]]) -> None:
    assert list(read_numbers(text.splitlines(keepends=True))) == rows


@pytest.mark.parametrize(
    ("text", "problem"), [("name,email\nA,a@x\n", "no phone column"), ("hello\n", "line 1")]
)
def test_unreadable_files_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(read_numbers(text.splitlines(keepends=True)))
    assert problem in caught.value.message
