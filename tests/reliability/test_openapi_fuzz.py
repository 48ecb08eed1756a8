"""schemathesis over the whole OpenAPI schema, authenticated as a tenant with a brand, a program
and a sender, against a real server on SQLite and PostgreSQL: no 5xx, every status code and
content type documented, every response in its documented schema, invalid input refused.

Not checked: that every schema-valid request succeeds (schemathesis' ``positive_data_acceptance``):
a phone number, a program slug or an id is a plain string in the schema, and random strings are
rightly refused with 404 / 422.

Each operation gets its own bounded Hypothesis run (valid and invalid inputs); failures are
collected and reported together. (schemathesis' lazy pytest fixtures do not run on pytest 9, so
the operations are driven directly.)

Excluded: the provider webhooks (``/webhooks/...``), whose authentication is a provider's
signature (Twilio HMAC, AWS SNS certificate, Azure shared secret) that generated requests cannot
carry, so every case would stop at the signature check; their handlers are tested with real
payloads in ``tests/integration/test_*_webhook.py``.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from consentry import Consentry
from consentry.api import create_app
from tests.conftest import serving

# per operation, mode and database: the whole schema stays within a minute; set
# CONSENTRY_FUZZ_EXAMPLES for a deeper run
EXAMPLES = int(os.environ.get("CONSENTRY_FUZZ_EXAMPLES", "6"))


@pytest.fixture(scope="module")
def fuzz_target(service: Consentry) -> Iterator[tuple[str, str]]:
    """A real server (no rate limit: the fuzzer is fast) and a registered tenant's key."""
    tenant, key = service.create_tenant("Fuzz", slug=f"fuzz-{secrets.token_hex(5)}")
    brand = service.create_brand(tenant, "Acme", "help@acme.example", slug="acme")
    service.create_program(tenant, brand.id, "Alerts", slug="alerts")
    service.create_sender(tenant, "+12065550100", "long_code", programs=["alerts"], verified=True)
    with serving(create_app(service, api_rate_limit=None)) as url:
        yield url, key


def test_api_conforms_to_its_schema(fuzz_target: tuple[str, str]) -> None:
    url, key = fuzz_target
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json").exclude(path_regex=r"^/webhooks/")
    # the key is sent on every request (below), so no case is "invalid" for lacking one; unknown
    # query parameters are ignored, as HTTP APIs do
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    headers = {"Authorization": f"Bearer {key}"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize="CONSENTRY_FUZZ_EXAMPLES" not in os.environ,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Case[Any]) -> None:
                response = case.call_and_validate(
                    base_url=url, headers=headers, excluded_checks=[positive_data_acceptance]
                )
                statuses[response.status_code] += 1

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as error:  # collect all, report together
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert operations > 30, "the schema lost its operations: the fuzzing proves nothing"
    assert failures == [], "\n\n".join(failures)
    # the key worked and the generated input reached the routes' own checks
    assert sum(n for status, n in statuses.items() if 200 <= status < 300) > 50, statuses
    assert statuses[422] > 50 and statuses[401] == 0, statuses
