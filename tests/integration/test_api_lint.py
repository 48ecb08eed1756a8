"""``POST /v1/lint/{kind}``: opt-in copy checked over HTTP, with the program's settings as context."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.helpers import create_registry

COMPLIANT = (
    "Get Acme acme deals by text: coffee offers. Up to 4 msgs/month. Message and data rates may "
    "apply. Reply HELP for help, STOP to cancel. Consent is not a condition of purchase. "
    "Terms: https://acme.example/terms Privacy: https://acme.example/privacy"
)


def test_compliant_copy_scores_100(client: httpx.Client) -> None:
    create_registry(client, category="marketing")
    response = client.post("/v1/lint/cta", json={"text": COMPLIANT, "program": "alerts"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["findings"] == [] and report["score"] == 100 and report["blocking"] is False


def test_missing_and_wrong_elements_are_findings_with_spans_and_fixes(client: httpx.Client) -> None:
    create_registry(client, category="marketing")
    text = COMPLIANT.replace("Message and data rates may apply", "Rates may apply").replace(
        "Up to 4 msgs/month. ", ""
    )
    report = client.post("/v1/lint/cta", json={"text": text, "program": "alerts"}).json()
    found = {f["id"]: f for f in report["findings"]}
    assert {"CTA-FREQUENCY", "CTA-RATES-WORDING"} <= set(found)
    assert found["CTA-RATES-WORDING"]["span"]["text"].lower() == "rates may apply"
    assert found["CTA-FREQUENCY"]["span"] is None
    assert all(f["citation"] and f["fix"] for f in report["findings"])
    assert report["blocking"] is True and report["score"] < 100


def test_hidden_html_does_not_count(client: httpx.Client) -> None:
    html = (
        "<style>.x{display:none}</style><p>"
        + COMPLIANT.replace("Reply HELP for help, STOP to cancel.", "")
        + '</p><p class="x">Reply HELP for help, STOP to cancel.</p>'
    )
    report = client.post("/v1/lint/cta", json={"text": html, "brand": "Acme acme"}).json()
    assert {"CTA-HELP", "CTA-STOP"} <= {f["id"] for f in report["findings"]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/lint/poem", {"text": "x"}, "kind"),
        ("/v1/lint/cta", {"text": ""}, "text"),
        ("/v1/lint/template", {"text": "hi"}, "template"),
        ("/v1/lint/cta", {"text": "x", "program": "nope"}, "program"),
        ("/v1/lint/cta", {"text": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field(
    client: httpx.Client, path: str, body: dict[str, str], field: str
) -> None:
    create_registry(client)
    response = client.post(path, json=body)
    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]["field"] == field


def test_lint_needs_an_api_key(anonymous: httpx.Client) -> None:
    assert anonymous.post("/v1/lint/cta", json={"text": COMPLIANT}).status_code == 401
