"""The public surface of ``consentry`` changes only on purpose (compare httpx's test)."""

from __future__ import annotations

import consentry


def test_all_is_sorted_and_complete() -> None:
    assert consentry.__all__ == sorted(consentry.__all__)
    exported = {name for name in dir(consentry) if not name.startswith("_")}
    public_modules = {
        "api",
        "archive",
        "cli",
        "collector",
        "consenting",
        "domain",
        "errors",
        "identifiers",
        "index",
        "logs",
        "proof",
        "providers",
        "rules",
        "screening",
        "secrets_at_rest",
        "service",
        "store",
        "testing",
        "transports",
        "web",
    }
    assert exported - public_modules - set(consentry.__all__) == set()
    for name in consentry.__all__:
        assert hasattr(consentry, name), name
