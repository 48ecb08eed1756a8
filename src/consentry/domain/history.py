"""What was sent and received recently: the memory the send gate's counting rules need.

Frequency caps, per-state daily limits, first-message disclosure, opt-out reminders, snowshoe
detection and the conversation window all ask "what happened before?". ``SendHistory`` answers
in memory: times are kept as POSIX seconds in sorted lists, so a window count is two bisections.
It is a plain data structure (no I/O, no clock): the service fills it from the store and adds each
send it records, and prunes what no rule can still see.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_CODES = re.compile(r"\w*\d\w*")
_NOT_WORD = re.compile(r"[\W_]+")
K = TypeVar("K")


@lru_cache(maxsize=1 << 16)
def fingerprint(body: str) -> str:
    """The body reduced to what stays the same across near-identical copies.

    Case, accents, punctuation, spacing, words with digits in them (codes, amounts, dates) and the
    links themselves are dropped, so "Sale! 20% off, code X20, at bit.ly/x1" and "sale 30% OFF,
    code Y7, at bit.ly/y2" are one content for snowshoe detection.
    """
    text = _URL.sub(" url ", body)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _CODES.sub("0", text)
    return _NOT_WORD.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class SendRecord:
    """One message the caller confirmed as sent."""

    program_id: str
    sender: str
    recipient: str
    category: str
    sent_at: datetime
    fingerprint: str
    opt_out_instructions: bool


def _prune(store: dict[K, list[float]], cutoff: float) -> None:
    for key in list(store):
        times = store[key]
        drop = bisect_left(times, cutoff)
        if drop == len(times):
            del store[key]
        elif drop:
            del times[:drop]


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class SendHistory:
    """Recent sends and inbound replies of one tenant, indexed the ways the rules count them."""

    __slots__ = (
        "_by_program",
        "_by_recipient",
        "_fingerprints",
        "_inbound",
        "_last_reminder",
        "_last_sent",
        "limited_categories",
    )

    def __init__(self, limited_categories: Iterable[str] = ("marketing",)) -> None:
        #: categories whose sends count towards a recipient's per-state daily limit
        self.limited_categories = frozenset(limited_categories)
        self._by_program: dict[tuple[str, str], list[float]] = {}
        self._last_sent: dict[tuple[str, str], float] = {}
        self._last_reminder: dict[tuple[str, str], float] = {}
        self._by_recipient: dict[str, list[float]] = {}
        self._fingerprints: dict[str, dict[str, float]] = {}
        self._inbound: dict[str, float] = {}

    def add(self, send: SendRecord) -> None:
        """Remember one send (in any order: late records are put in their place)."""
        at = _ts(send.sent_at)
        key = (send.program_id, send.recipient)
        times = self._by_program.get(key)
        if times is None:
            self._by_program[key] = [at]
        elif not times or times[-1] <= at:
            times.append(at)
        else:
            insort(times, at)
        if at > self._last_sent.get(key, float("-inf")):
            self._last_sent[key] = at
        if send.opt_out_instructions and at > self._last_reminder.get(key, float("-inf")):
            self._last_reminder[key] = at
        if send.category in self.limited_categories:
            insort(self._by_recipient.setdefault(send.recipient, []), at)
        senders = self._fingerprints.setdefault(send.fingerprint, {})
        if at > senders.get(send.sender, float("-inf")):
            senders[send.sender] = at

    def remember_latest(
        self, program_id: str, recipient: str, at: datetime, *, reminder: bool
    ) -> None:
        """Remember the latest send (or reminder) of ``program_id`` to ``recipient`` without
        counting it in any window: for sends older than every window."""
        store = self._last_reminder if reminder else self._last_sent
        key = (program_id, recipient)
        ts = _ts(at)
        if ts > store.get(key, float("-inf")):
            store[key] = ts

    def add_inbound(self, recipient: str, received_at: datetime) -> None:
        """Remember that ``recipient`` wrote to the tenant at ``received_at``."""
        at = _ts(received_at)
        if at > self._inbound.get(recipient, float("-inf")):
            self._inbound[recipient] = at

    def program_sends(self, program_id: str, recipient: str, since: datetime) -> list[datetime]:
        """Sends of ``program_id`` to ``recipient`` at or after ``since``, oldest first."""
        times = self._by_program.get((program_id, recipient))
        if not times:
            return []
        return [_dt(ts) for ts in times[bisect_left(times, _ts(since)) :]]

    def recipient_sends(self, recipient: str, since: datetime) -> list[datetime]:
        """Sends of the limited categories to ``recipient`` from any program, oldest first."""
        times = self._by_recipient.get(recipient)
        if not times:
            return []
        return [_dt(ts) for ts in times[bisect_left(times, _ts(since)) :]]

    def last_sent(self, program_id: str, recipient: str) -> datetime | None:
        """The latest send of ``program_id`` to ``recipient`` (kept however old it is)."""
        at = self._last_sent.get((program_id, recipient))
        return None if at is None else _dt(at)

    def last_reminder(self, program_id: str, recipient: str) -> datetime | None:
        """The latest send of ``program_id`` to ``recipient`` that said how to opt out."""
        at = self._last_reminder.get((program_id, recipient))
        return None if at is None else _dt(at)

    def last_inbound(self, recipient: str) -> datetime | None:
        at = self._inbound.get(recipient)
        return None if at is None else _dt(at)

    def senders_of(self, content: str, since: datetime) -> frozenset[str]:
        """The senders that sent the content with fingerprint ``content`` at or after ``since``."""
        senders = self._fingerprints.get(content)
        if not senders:
            return frozenset()
        cutoff = _ts(since)
        return frozenset(sender for sender, at in senders.items() if at >= cutoff)

    def prune(self, before: datetime, snowshoe_before: datetime) -> None:
        """Forget window entries older than ``before`` (snowshoe entries: ``snowshoe_before``).

        The latest send and reminder per program and recipient are kept whatever their age:
        first-message and reminder rules need them.
        """
        cutoff = _ts(before)
        _prune(self._by_program, cutoff)
        _prune(self._by_recipient, cutoff)
        snowshoe_cutoff = _ts(snowshoe_before)
        for content in list(self._fingerprints):
            senders = self._fingerprints[content]
            for sender in [s for s, at in senders.items() if at < snowshoe_cutoff]:
                del senders[sender]
            if not senders:
                del self._fingerprints[content]

    def forget(self, recipients: Iterable[str]) -> None:
        """Drop everything about ``recipients`` (after their records were purged)."""
        gone = set(recipients)
        for store in (self._by_program, self._last_sent, self._last_reminder):
            for key in [k for k in store if k[1] in gone]:
                del store[key]
        for recipient in gone:
            self._by_recipient.pop(recipient, None)
            self._inbound.pop(recipient, None)
