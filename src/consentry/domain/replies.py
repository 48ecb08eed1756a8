"""The texts consentry answers STOP, START and HELP with.

A program may set its own texts; otherwise these defaults are built from the brand and program.
Every opt-out confirmation must fit one GSM-7 segment (160 septets) and say that no further
messages will follow (CTIA Messaging Principles and Best Practices, opt-out section; AWS
"Compliant SMS opt-in" guidance: "one final opt-out confirmation message").
"""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from consentry.errors import InvalidInput

SINGLE_SEGMENT_SEPTETS = 160
_BRAND_MAX = 40


def gsm7_length(text: str) -> int | None:
    """Septets ``text`` takes in GSM-7 (extension characters count twice), or None if not GSM-7."""
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeError:
        return None


def check_single_segment(text: str, *, field: str) -> str:
    """Validate a reply that must be one GSM-7 segment; return it stripped."""
    reply = text.strip()
    if not reply:
        raise InvalidInput("reply text is empty", field=field)
    septets = gsm7_length(reply)
    if septets is None:
        bad = next(ch for ch in reply if gsm7_length(ch) is None)
        raise InvalidInput(f"reply must be GSM-7; {bad!r} is not a GSM-7 character", field=field)
    if septets > SINGLE_SEGMENT_SEPTETS:
        raise InvalidInput(
            f"reply is {septets} GSM-7 characters; it must fit one segment "
            f"({SINGLE_SEGMENT_SEPTETS})",
            field=field,
        )
    return reply


def _short(name: str) -> str:
    name = "".join(ch for ch in name if gsm7_length(ch) == 1).strip() or "Notice"
    return name if len(name) <= _BRAND_MAX else name[: _BRAND_MAX - 1].rstrip() + "."


def opt_out_confirmation(brand: str) -> str:
    """The one reply sent after an opt-out; nothing follows it."""
    return (
        f"{_short(brand)}: You are unsubscribed and will get no more messages. "
        "Reply START to resubscribe."
    )


def opt_out_clarification(brand: str, keep: list[tuple[str, str]]) -> str:
    """The one reply after a revocation that asks which messages the person still wants.

    ``keep`` lists ``(label, keyword)`` of each purpose the person may keep (e.g. ``("account
    notifications", "ALERTS")``). The text says everything has stopped (the rule's default until
    an answer comes) and fits one GSM-7 segment; options that would not fit are left out.
    """
    head = f"{_short(brand)}: You are unsubscribed from all messages."
    options: list[str] = []
    for label, keyword in keep:
        option = f"reply {keyword} to keep {label}"
        candidate = head + " To stay on, " + "; ".join([*options, option]) + "."
        if gsm7_length(candidate) is None or (gsm7_length(candidate) or 0) > SINGLE_SEGMENT_SEPTETS:
            break
        options.append(option)
    if not options:
        return head + " Reply START to resubscribe."
    return head + " To stay on, " + "; ".join(options) + "."


def opt_in_confirmation(
    brand: str, program: str | None, frequency: str | None = None, *, resubscribed: bool = True
) -> str:
    """The confirmation after an opt-in (START / UNSTOP, or a recorded consent).

    It carries the elements the AWS opt-in guidance and the Azure policy list for the first
    message: brand and program, frequency, "Msg&data rates may apply", HELP and STOP.
    """
    what = f" to {_short(program)}" if program else ""
    verb = "resubscribed" if resubscribed else "subscribed"
    return (
        f"{_short(brand)}: You are {verb}{what}. {_frequency(frequency)} Msg&data rates may apply. "
        "Reply HELP for help, STOP to opt out."
    )


def double_opt_in_request(brand: str, program: str, frequency: str | None = None) -> str:
    """The request that a double opt-in program sends before anything else."""
    return (
        f"{_short(brand)}: Reply YES to confirm {_short(program)} texts. {_frequency(frequency)} "
        "Msg&data rates may apply. Reply HELP for help, STOP to cancel."
    )


def reconfirmation_request(brand: str, program: str) -> str:
    """The request to reconfirm a consent that has gone stale."""
    return (
        f"{_short(brand)}: Reply YES to keep getting {_short(program)} texts. "
        "Msg&data rates may apply. Reply STOP to opt out."
    )


def _frequency(frequency: str | None) -> str:
    text = _short(frequency) if frequency else "Msg frequency varies"
    return text if text.endswith(".") else text + "."


def help_reply(brand: str, support_contact: str | None) -> str:
    """The reply to HELP: who is texting, how to reach them, how to stop (sent to anyone)."""
    contact = f" Help: {_short(support_contact)}." if support_contact else ""
    return f"{_short(brand)}:{contact} Msg&data rates may apply. Reply STOP to opt out."
