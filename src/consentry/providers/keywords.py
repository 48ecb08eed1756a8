"""Which replies a provider answers by itself (``rules/providers.toml``), so consentry does not
answer them a second time when the tenant left the provider's own keyword handling on."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def _data() -> dict[str, Any]:
    text = resources.files("consentry.rules").joinpath("providers.toml").read_text("utf-8")
    return tomllib.loads(text)


def answered_by_provider(provider: str, body: str) -> bool:
    """Whether ``provider`` answers ``body`` itself by default (whole reply, any case)."""
    lists = _data().get(provider)
    if lists is None:
        return False
    word = " ".join(body.split()).upper()
    return any(word in lists[kind] for kind in ("opt_out", "opt_in", "help"))


def citation(provider: str) -> str:
    return str(_data()[provider]["citation"])
