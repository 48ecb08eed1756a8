"""Azure Communication Services' Opt-Out Management API (preview), through the SMS SDK's pipeline.

``azure-communication-sms`` 1.1.0 has no client for it (the .NET SDK's ``OptOutsClient`` has no
Python counterpart in that release), so the requests go through the SDK's own HTTP pipeline:
the same HMAC-SHA256 authentication with the connection string's access key, the same transport
(and ``connection_verify``). The API can check, add and remove opt-outs per sender ("from") and
recipients ("to"), at most 100 recipients a request; it cannot list them.
https://learn.microsoft.com/azure/communication-services/quickstarts/sms/opt-out-api-quickstart
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

API_VERSION = "2024-12-10-preview"
BATCH = 100


class AzureOptOutError(Exception):
    """The Opt-Out Management API refused a request, or could not be reached."""


class AzureOptOuts:
    """Check, add and remove opt-outs at Azure for one sender at a time."""

    def __init__(self, sms_client: Any) -> None:
        self._service = sms_client._sms_service_client  # the SDK's generated client

    def check(self, sender: str, recipients: Iterable[str]) -> dict[str, bool]:
        """Whether each recipient is opted out of ``sender`` at Azure."""
        result: dict[str, bool] = {}
        for batch in _batches(recipients):
            for item in self._call("check", sender, batch):
                if int(item.get("httpStatusCode", 0)) != 200:
                    raise AzureOptOutError(
                        f"Azure could not check {item.get('to')}: {item.get('errorMessage')}"
                    )
                result[str(item["to"])] = bool(item.get("isOptedOut"))
        return result

    def add(self, sender: str, recipients: Iterable[str]) -> int:
        """Opt ``recipients`` out of ``sender`` at Azure; how many Azure accepted."""
        return sum(
            1
            for batch in _batches(recipients)
            for item in self._call("add", sender, batch)
            if int(item.get("httpStatusCode", 0)) == 200
        )

    def _call(self, action: str, sender: str, recipients: list[str]) -> list[dict[str, Any]]:
        from azure.core.exceptions import AzureError
        from azure.core.pipeline.transport import HttpRequest

        request = HttpRequest(
            "POST",
            f"{{endpoint}}/sms/optouts:{action}?api-version={API_VERSION}",
            headers={"Content-Type": "application/json"},
        )
        request.set_json_body({"from": sender, "recipients": [{"to": to} for to in recipients]})
        try:
            response = self._service._send_request(request, stream=False)
        except AzureError as error:
            raise AzureOptOutError(f"Azure opt-outs {action}: {error}") from error
        if response.status_code >= 300:
            raise AzureOptOutError(
                f"Azure opt-outs {action} answered {response.status_code}: {response.text()[:300]}"
            )
        body = json.loads(response.text())
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, list):
            raise AzureOptOutError(f"Azure opt-outs {action}: no value list in the answer")
        return [item for item in value if isinstance(item, dict)]


def _batches(recipients: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for recipient in recipients:
        batch.append(recipient)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
