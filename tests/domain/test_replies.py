"""STOP / START / HELP reply texts: one GSM-7 segment where the rules ask for it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentry.domain.replies import (
    check_single_segment,
    double_opt_in_request,
    gsm7_length,
    help_reply,
    opt_in_confirmation,
    opt_out_confirmation,
    reconfirmation_request,
)
from consentry.errors import InvalidInput


@given(
    brand=st.text(max_size=300),
    program=st.text(max_size=300),
    frequency=st.none() | st.text(max_size=300),
)
def test_default_replies_are_gsm7_and_the_opt_out_confirmation_fits_one_segment(
    brand: str, program: str, frequency: str | None
) -> None:
    septets = gsm7_length(opt_out_confirmation(brand))
    assert septets is not None and septets <= 160
    for text in (
        opt_in_confirmation(brand, program, frequency),
        help_reply(brand, program),
        double_opt_in_request(brand, program, frequency),
        reconfirmation_request(brand, program),
    ):
        septets = gsm7_length(text)
        assert septets is not None, text
        assert septets <= 306, text  # two concatenated segments at most


def test_confirmation_and_double_opt_in_request_carry_the_required_elements() -> None:
    for text in (
        opt_in_confirmation("Acme", "Deals", "Up to 4 msgs/month", resubscribed=False),
        double_opt_in_request("Acme", "Deals", "Up to 4 msgs/month"),
    ):
        assert "Acme" in text and "Deals" in text and "Up to 4 msgs/month" in text
        assert "Msg&data rates may apply" in text
        assert "HELP" in text and "STOP" in text
    assert "Reply YES" in double_opt_in_request("Acme", "Deals")


def test_opt_out_confirmation_says_no_more_messages_and_names_the_brand() -> None:
    text = opt_out_confirmation("Acme Coffee")
    assert text.startswith("Acme Coffee:")
    assert "no more messages" in text


def test_help_reply_has_brand_contact_and_stop() -> None:
    text = help_reply("Acme", "help@acme.example")
    assert "Acme" in text and "help@acme.example" in text and "STOP" in text


@pytest.mark.parametrize(
    ("text", "septets"),
    [("STOP", 4), ("€", 2), ("[x]", 5), ("Ärger", 5), ("✓", None), ("你好", None)],
)
def test_gsm7_length_counts_extension_characters_twice(text: str, septets: int | None) -> None:
    assert gsm7_length(text) == septets


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("x" * 161, "161 GSM-7"), ("€" * 81, "162 GSM-7"), ("Done ✓", "not a GSM-7")],
)
def test_check_single_segment_refuses(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_single_segment(text, field="opt_out_reply")
    assert problem in caught.value.message
    assert caught.value.field == "opt_out_reply"
