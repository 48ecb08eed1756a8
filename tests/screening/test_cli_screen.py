"""``consentry screen`` end to end (Typer's runner), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from consentry import Consentry
from consentry.cli import app
from tests.screening.conftest import LIST_ROWS, SENDER, Screened, expected

runner = CliRunner()


def _invoke(service: Consentry, screened: Screened, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        ["screen", *args, "--tenant", screened.tenant.slug, "--database", service.database_url],
    )
    return result.exit_code, result.stdout, result.stderr


def test_screen_csv_with_summary_table(
    service: Consentry, screened: Screened, tmp_path: Path
) -> None:
    ok, no = tmp_path / "ok.csv", tmp_path / "no.csv"
    code, stdout, stderr = _invoke(
        service,
        screened,
        str(screened.list_path),
        "--column",
        "phone",
        "--program",
        "coffee-club",
        "--sender",
        SENDER,
        "--allowed",
        str(ok),
        "--suppressed",
        str(no),
    )
    assert code == 0, stderr
    want = expected(sender=True)
    with no.open(newline="") as handle:
        assert {r["id"]: r["reason"] for r in csv.DictReader(handle)} == {
            k: v for k, v in want.items() if v
        }
    with ok.open(newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["6", "7", "10"]
    assert "may be sent" in stdout and "opted_out:sender:+12065550199" in stdout
    assert " 3 " in stdout.split("may be sent")[1].splitlines()[0] + " "


def test_default_outputs_beside_the_input_and_json(service: Consentry, screened: Screened) -> None:
    code, stdout, stderr = _invoke(
        service, screened, str(screened.list_path), "-c", "phone", "--json"
    )
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert (summary["rows"], summary["allowed"], summary["suppressed"]) == (10, 4, 6)
    allowed = Path(summary["allowed_file"])
    assert allowed == screened.list_path.with_name("list.allowed.csv")
    assert allowed.is_file()
    assert Path(summary["suppressed_file"]).name == "list.suppressed.csv"


def test_plain_list_and_parquet(service: Consentry, screened: Screened, tmp_path: Path) -> None:
    numbers = [phone for _, phone, _ in LIST_ROWS]
    listed = tmp_path / "numbers.txt"
    listed.write_text("\n".join(numbers) + "\n")
    parquet = tmp_path / "numbers.parquet"
    pq.write_table(pa.table({"mobile": numbers}), parquet)
    code, stdout, stderr = _invoke(
        service, screened, str(listed), "--program", "coffee-club", "--json"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["allowed"] == 4
    assert (tmp_path / "numbers.allowed.txt").read_text().splitlines() == [
        "2065550105",
        "+12065550106",
        "206 555 0107",
        "+12065550106",
    ]
    code, stdout, stderr = _invoke(
        service, screened, str(parquet), "-c", "mobile", "--program", "coffee-club", "--json"
    )
    assert code == 0, stderr
    assert json.loads(stdout)["suppressed_by_reason"]["no_consent"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "mobile"], "column: the file has no column 'mobile'"),
        (["-c", "phone", "--program", "nope"], "program: no program 'nope'"),
        (["-c", "phone", "--format", "parquet"], "file: cannot read the parquet file"),
    ],
)
def test_bad_input_exits_2(
    service: Consentry, screened: Screened, args: list[str], message: str
) -> None:
    code, _, stderr = _invoke(service, screened, str(screened.list_path), *args)
    assert code == 2
    assert message in " ".join(stderr.split())


def test_missing_file_exits_2(service: Consentry, screened: Screened, tmp_path: Path) -> None:
    code, _, stderr = _invoke(service, screened, str(tmp_path / "absent.csv"), "-c", "phone")
    assert code == 2
    assert "no file" in stderr
