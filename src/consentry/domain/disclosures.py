"""The words of the hosted opt-in page and of the terms and privacy pages consentry generates.

Built from the brand's and program's settings, so that every element carriers look for is there:
who is texting and what for, how often, "Message and data rates may apply", HELP and STOP,
the terms and privacy links, and for marketing that consent is not a condition of purchase
(AWS "Compliant SMS opt-in" guidance; CTIA Messaging Principles and Best Practices (2023),
'Calls-to-action'; 47 CFR 64.1200(f)(9)). The call-to-action text is stored word for word with
every consent given on the page, as its evidence. The linter (``domain.cta``) checks the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from consentry.domain.model import Brand, Program

_KIND = {
    "marketing": "recurring automated marketing",
    "informational": "recurring automated informational",
    "transactional": "automated account and transaction",
    "conversational": "text",
}


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    text: str


def frequency(program: Program) -> str:
    """The program's disclosed frequency as a sentence ("Message frequency varies" if unset)."""
    text = (program.frequency or "Message frequency varies").strip().rstrip(".")
    return text + "."


_ABOUT = {
    "marketing": "offers, news and promotions",
    "informational": "updates and reminders",
    "transactional": "account and order notifications",
    "conversational": "replies to your messages",
}


def description(program: Program, brand: Brand) -> str:
    """What the messages are about: the program's description, or what its category sends."""
    text = program.description or _ABOUT.get(program.category, f"{brand.name} messages")
    return text.strip().rstrip(".")


def call_to_action(brand: Brand, program: Program, terms_url: str, privacy_url: str) -> str:
    """The consent text shown next to the (unchecked) checkbox, and stored as evidence."""
    kind = _KIND.get(program.category, "text")
    parts = [
        f"By checking this box, I agree to receive {kind} text messages from {brand.name} "
        f"({program.name}: {description(program, brand)}) at the mobile number provided.",
    ]
    if program.category == "marketing":
        parts.append("Consent is not a condition of any purchase.")
    parts += [
        frequency(program),
        "Message and data rates may apply.",
        f"Reply HELP for help or contact {brand.support_contact}. Reply STOP to cancel at any time.",
        f"Terms and conditions: {terms_url}. Privacy policy: {privacy_url}.",
    ]
    return " ".join(parts)


def terms(brand: Brand, program: Program, privacy_url: str) -> tuple[Section, ...]:
    """The SMS terms and conditions of one program."""
    return (
        Section("Program", f"{program.name} by {brand.name}: {description(program, brand)}."),
        Section("Message frequency", frequency(program)),
        Section("Cost", "Message and data rates may apply."),
        Section(
            "Help",
            f"Reply HELP to any message for help, or contact {brand.support_contact}"
            + (f" or call {brand.support_phone}" if brand.support_phone else "")
            + ".",
        ),
        Section(
            "Opting out",
            "Reply STOP to any message to cancel. You will receive one final message confirming "
            "that you have been unsubscribed and no further messages after it. Reply START to "
            "subscribe again.",
        ),
        Section("Carriers", "Carriers are not liable for delayed or undelivered messages."),
        Section("Privacy", f"See our privacy policy: {privacy_url}."),
    )


def privacy(brand: Brand, program: Program) -> tuple[Section, ...]:
    """The privacy policy of one program's text messages."""
    return (
        Section(
            "What we collect",
            f"{brand.name} keeps your mobile number, the record of your consent to "
            f"{program.name} (when and where you gave it, the text you agreed to, your IP address "
            "and browser) and the messages exchanged, to send you the messages you asked for and "
            "to prove your consent.",
        ),
        Section(
            "Sharing",
            "No mobile information will be shared with third parties or affiliates for marketing "
            "or promotional purposes. Text messaging originator opt-in data and consent will not "
            "be shared with or sold to any third parties.",
        ),
        Section(
            "Your choices",
            f"Reply STOP to cancel at any time, or contact {brand.support_contact}.",
        ),
    )
