"""Proof bundles: a recipient's consent history in a form a third party can check on its own.

The bundle is JSON. Each event carries its stored fields, its ``canonical`` form and ``hash``
(SHA-256 of the canonical form's UTF-8 bytes) and ``prev_hash``; ``chain`` lists the links of the
tenant's chain between the recipient's first and last event (hashes only), so a reader can check
that the events are consecutive links of one unbroken chain ending at ``chain.head``.
:func:`check` does exactly that, and :func:`render_html` is the human-readable rendering.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from consentry.domain.model import Tenant
from consentry.store.ledger import ChainHead, canonical_form, canonical_value

if TYPE_CHECKING:
    from consentry.service import RecipientView

FORMAT = "consentry-proof/1"
RECIPE = (
    "For each event: hash = SHA-256 hex of the UTF-8 bytes of `canonical`; `canonical` is the "
    "JSON of the event's fields with keys sorted and no whitespace. Each link's prev_hash equals "
    "the hash of the link before it; the first event of a tenant links to 64 zeros."
)


def bundle(
    tenant: Tenant,
    recipient: str,
    events: Sequence[Mapping[str, Any]],
    disclosure_texts: Mapping[str, str],
    links: Sequence[Mapping[str, Any]],
    head: ChainHead,
    view: RecipientView,
    generated_at: datetime,
) -> dict[str, Any]:
    """Assemble the proof bundle (plain JSON-ready data)."""
    return {
        "format": FORMAT,
        "generated_at": generated_at.isoformat(),
        "tenant": {"id": tenant.id, "name": tenant.name},
        "recipient": recipient,
        "current": {
            "consents": [
                {
                    "program_id": c.program_id,
                    "brand_id": c.brand_id,
                    "status": c.status.value,
                    "level": c.level.value,
                    "granted_at": _iso(c.granted_at),
                    "revoked_at": _iso(c.revoked_at),
                }
                for c in view.consents
            ],
            "opt_outs": [str(o.scope) for o in view.optouts],
        },
        "events": [_event(event) for event in events],
        "disclosures": dict(sorted(disclosure_texts.items())),
        "chain": {
            "links": [
                {"seq": link["seq"], "prev_hash": link["prev_hash"], "hash": link["hash"]}
                for link in links
            ],
            "head": {"seq": head.seq, "hash": head.hash},
            "recipe": RECIPE,
        },
    }


def _event(event: Mapping[str, Any]) -> dict[str, Any]:
    fields = {
        key: canonical_value(value)
        for key, value in event.items()
        if key not in ("redacted_at",) and value is not None
    }
    fields["canonical"] = None if event.get("redacted_at") else canonical_form(event)
    return fields


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def check(proof: Mapping[str, Any]) -> list[str]:
    """Check a bundle without consentry's database; return the problems found (none: valid)."""
    problems: list[str] = []
    links = {link["seq"]: link for link in proof["chain"]["links"]}
    seqs = sorted(links)
    for before, after in itertools.pairwise(seqs):
        if after != before + 1:
            problems.append(f"link {before + 1} is missing")
        elif links[after]["prev_hash"] != links[before]["hash"]:
            problems.append(f"link {after} does not follow link {before}")
    for event in proof["events"]:
        link = links.get(event["seq"])
        if link is None or link["hash"] != event["hash"] or link["prev_hash"] != event["prev_hash"]:
            problems.append(f"event {event['seq']} is not in the chain")
        canonical = event.get("canonical")
        if canonical is None:
            continue
        if hashlib.sha256(canonical.encode("utf-8")).hexdigest() != event["hash"]:
            problems.append(f"event {event['seq']}: canonical form does not match its hash")
        stated = json.loads(canonical)
        # Every field shown must be the hashed one: nothing may be added, changed or dropped.
        shown = {key for key in event if key not in ("canonical", "hash")}
        for key in sorted(shown | set(stated)):
            if stated.get(key) != event.get(key):
                problems.append(f"event {event['seq']}: {key} differs from its canonical form")
        digest = event.get("disclosure_hash")
        if digest is not None:
            text = proof["disclosures"].get(digest)
            if text is None or hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
                problems.append(f"event {event['seq']}: disclosure text missing or altered")
    head = proof["chain"]["head"]
    if seqs and head["seq"] == seqs[-1] and head["hash"] != links[seqs[-1]]["hash"]:
        problems.append("the last link is not the chain head")
    return problems


def render_html(proof: Mapping[str, Any]) -> str:
    """A self-contained, printable HTML page of the bundle (no scripts, no external assets)."""
    e = html.escape
    rows = []
    for event in proof["events"]:
        evidence = ", ".join(
            f"{key}: {event[key]}"
            for key in (
                "medium",
                "level",
                "keyword",
                "source_url",
                "ip_address",
                "user_agent",
                "session_id",
                "reason",
            )
            if event.get(key)
        )
        rows.append(
            "<tr>"
            f"<td>{event['seq']}</td><td>{e(str(event['occurred_at']))}</td><td>{e(event['kind'])}</td>"
            f"<td>{e(str(event.get('scope_kind') or ''))} {e(str(event.get('scope_id') or ''))}</td>"
            f"<td>{e(event['source'])}</td><td>{e(evidence)}</td>"
            f"<td><code>{e(event['hash'][:16])}…</code></td>"
            "</tr>"
        )
    disclosures = "".join(
        f"<h3><code>{e(digest[:16])}…</code></h3><blockquote>{e(text)}</blockquote>"
        for digest, text in proof["disclosures"].items()
    )
    current = proof["current"]
    consents = (
        "".join(
            f"<li>program {e(c['program_id'])}: {e(c['status'])} ({e(c['level'])})</li>"
            for c in current["consents"]
        )
        or "<li>none</li>"
    )
    optouts = "".join(f"<li>{e(scope)}</li>" for scope in current["opt_outs"]) or "<li>none</li>"
    problems = check(proof)
    verdict = "chain links and hashes check out" if not problems else "; ".join(problems)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Consent proof for {e(proof["recipient"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #999; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
blockquote {{ border-left: 4px solid #555; margin: 0 0 1rem; padding: .3rem 1rem; white-space: pre-wrap; }}
</style></head>
<body>
<h1>Consent proof for {e(proof["recipient"])}</h1>
<p>Tenant {e(proof["tenant"]["name"])} ({e(proof["tenant"]["id"])}), generated {e(proof["generated_at"])}.</p>
<p><strong>Verification:</strong> {e(verdict)}. Chain head: event {proof["chain"]["head"]["seq"]},
<code>{e(proof["chain"]["head"]["hash"])}</code>.</p>
<h2>Current state</h2>
<ul>{consents}</ul>
<h2>Opt-outs in force</h2>
<ul>{optouts}</ul>
<h2>Events</h2>
<table><thead><tr><th scope="col">#</th><th scope="col">when (UTC)</th><th scope="col">event</th>
<th scope="col">scope</th><th scope="col">source</th><th scope="col">evidence</th><th scope="col">hash</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2>Disclosure texts shown</h2>
{disclosures or "<p>none</p>"}
<h2>How to check this proof</h2>
<p>{e(proof["chain"]["recipe"])}</p>
</body></html>
"""
