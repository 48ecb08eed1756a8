"""Screening through the service, on SQLite and PostgreSQL, against real recorded opt-outs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from consentry import Consentry
from consentry.errors import InvalidInput, NotFound
from tests.screening.conftest import SENDER, Screened, expected


def _reasons(path: Path) -> dict[str, str]:
    with path.open(newline="") as handle:
        return {row["id"]: row["reason"] for row in csv.DictReader(handle)}


def _ids(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return [row["id"] for row in csv.DictReader(handle)]


@pytest.mark.parametrize(
    ("program", "sender", "rules"),
    [
        ("coffee-club", None, {"sender": False, "consent": True}),
        ("coffee-club", SENDER, {"sender": True, "consent": True}),
    ],
)
def test_screen_for_a_program(
    service: Consentry,
    screened: Screened,
    tmp_path: Path,
    program: str,
    sender: str | None,
    rules: dict[str, bool],
) -> None:
    allowed, suppressed = tmp_path / "ok.csv", tmp_path / "no.csv"
    summary = service.screen(
        screened.tenant,
        screened.list_path,
        "phone",
        program=program,
        sender=sender,
        allowed=str(allowed),
        suppressed=str(suppressed),
    )
    want = expected(**rules)
    assert _reasons(suppressed) == {k: v for k, v in want.items() if v}
    assert _ids(allowed) == [k for k, v in want.items() if not v]
    assert summary.rows == 10
    assert summary.allowed == len([v for v in want.values() if not v])


def test_screen_for_a_sender_only(service: Consentry, screened: Screened, tmp_path: Path) -> None:
    """The sender's programs' scopes and the sender's own scope; no consent check."""
    summary = service.screen(
        screened.tenant,
        screened.list_path,
        "phone",
        sender=SENDER,
        suppressed=str(tmp_path / "no.csv"),
    )
    assert _reasons(tmp_path / "no.csv") == {
        k: v for k, v in expected(sender=True, consent=False).items() if v
    }
    assert summary.suppressed == {
        "invalid_number": 1,
        "opted_out:tenant": 1,
        "opted_out:brand:acme": 1,
        "opted_out:program:coffee-club": 1,
        "opted_out:sender:+12065550199": 1,
    }


def test_screen_without_program_uses_every_scope(service: Consentry, screened: Screened) -> None:
    summary = service.screen(screened.tenant, screened.list_path, "phone")
    assert summary.as_dict() | {"seconds": 0} == {
        "rows": 10,
        "allowed": 4,
        "suppressed": 6,
        "suppressed_by_reason": {
            "invalid_number": 1,
            "opted_out:tenant": 1,
            "opted_out:brand:acme": 1,
            "opted_out:program:coffee-club": 1,
            "opted_out:program:tea-club": 1,
            "opted_out:sender:+12065550199": 1,
        },
        "seconds": 0,
    }


def test_screen_sees_a_new_opt_out_at_once(service: Consentry, screened: Screened) -> None:
    before = service.screen(screened.tenant, screened.list_path, "phone", program="coffee-club")
    service.add_optouts(screened.tenant, ["+12065550106"], sender=SENDER)
    service.add_optouts(screened.tenant, ["2065550107"], scope=None, sender=SENDER)
    after = service.screen(
        screened.tenant, screened.list_path, "phone", program="coffee-club", sender=SENDER
    )
    assert before.allowed == 4
    assert after.allowed == 0
    assert after.suppressed["opted_out:sender:+12065550199"] == 4  # 5, 6, 7 and 6 again


def test_unknown_program_and_bad_column(service: Consentry, screened: Screened) -> None:
    with pytest.raises(NotFound) as missing:
        service.screen(screened.tenant, screened.list_path, "phone", program="no-such")
    assert missing.value.field == "program"
    with pytest.raises(InvalidInput) as column:
        service.screen(screened.tenant, screened.list_path, "mobile")
    assert column.value.field == "column"
    assert "its columns: id, phone" in column.value.message
