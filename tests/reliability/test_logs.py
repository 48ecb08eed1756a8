"""Masking phone numbers in log lines (``consentry.logs``): table-driven cases and a property."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentry.logs import MaskNumbers, mask_numbers, redacted_url


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("/v1/optouts/%2B12065550100/history", "/v1/optouts/+1******0100/history"),
        ("/v1/recipients/+12065550100", "/v1/recipients/+1******0100"),
        ("/v1/outbox?to=(425)%20555-0123", "/v1/outbox?to=(***) ***-0123"),
        ("/v1/recipients/+44 20 7946 0958", "/v1/recipients/+4* ** **** 0958"),
        ("12065550100", "*******0100"),
        ("127.0.0.1:54321", "127.0.0.1:54321"),  # client addresses stay readable
        ("192.168.100.200", "192.168.100.200"),
        ("/v1/decisions?since=2026-11-23T10:00:00Z", "/v1/decisions?since=2026-11-23T10:00:00Z"),
        ("/v1/sends/snt_0123456789ab", "/v1/sends/snt_0123456789ab"),  # ids are not numbers
        ("short code 12345", "short code 12345"),
    ],
)
def test_mask_numbers(text: str, masked: str) -> None:
    assert mask_numbers(text) == masked


@settings(max_examples=200, deadline=None)
@given(
    digits=st.from_regex(r"[2-9]\d{2}[2-9]\d{6}", fullmatch=True),
    before=st.sampled_from(["/v1/recipients/", "?to=", " ", "", "%2B1", "+1", "from +1 "]),
    after=st.sampled_from(["", "/history", " HTTP/1.1", "&x=1"]),
)
def test_no_full_number_survives(digits: str, before: str, after: str) -> None:
    masked = mask_numbers(f"{before}{digits}{after}")
    assert digits not in masked and digits[-4:] in masked


def test_filter_masks_access_log_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/recipients/%2B14255550123", "1.1", 200),
        None,
    )
    assert MaskNumbers().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/recipients/+1******0123 HTTP/1.1" 200'


def test_redacted_url_hides_the_password() -> None:
    assert (
        redacted_url("postgresql://app:s3cret@db/consentry") == "postgresql://app:***@db/consentry"
    )
    assert redacted_url("sqlite:///var/consentry.db") == "sqlite:///var/consentry.db"
