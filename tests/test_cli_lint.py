"""``consentry lint``, driven as a user would: exit 0 compliant, 1 blocking, 2 bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consentry.cli import app

runner = CliRunner()
OPT_OUT = "Acme: You are unsubscribed and will get no more messages. Reply START to resubscribe."


def test_a_compliant_opt_out_confirmation_exits_0(tmp_path: Path) -> None:
    source = tmp_path / "reply.txt"
    source.write_text(OPT_OUT)
    result = runner.invoke(
        app,
        [
            "lint",
            "template",
            str(source),
            "--template",
            "opt_out_confirmation",
            "--brand",
            "Acme",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["blocking"] is False
    assert [f["id"] for f in report["findings"]] == ["TEMPLATE-ENCODING"]


def test_an_opt_out_confirmation_with_an_emoji_and_an_offer_exits_1(tmp_path: Path) -> None:
    source = tmp_path / "reply.txt"
    source.write_text(
        "Acme: you are unsubscribed 😢 but get 20% off with code BACK20 if you return!"
    )
    result = runner.invoke(
        app,
        [
            "lint",
            "template",
            str(source),
            "--template",
            "opt_out_confirmation",
            "--brand",
            "Acme",
            "--json",
        ],
    )
    assert result.exit_code == 1
    ids = {f["id"] for f in json.loads(result.stdout)["findings"]}
    assert {"TEMPLATE-OPT-OUT-ENCODING", "TEMPLATE-OPT-OUT-MARKETING"} <= ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lint", "poem", "-"], "kind"),
        (["lint", "template", "-"], "template"),
        (["lint", "cta", "/no/such/file.txt"], "cannot read"),
        (["lint", "cta", "-", "--category", "spam"], "category"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args, input="Some text")
    assert result.exit_code == 2
    assert message in result.stderr
