"""How many inbound replies a second ``consentry.domain.keywords.classify`` handles on one core.

Run: ``.venv/bin/python bench/bench_classify.py [--messages 200000] [--rounds 5] [--seed 7]``

The mix: every labelled reply of ``tests/domain/inbound_cases.toml`` (keywords, disguised
keywords, plain-language revocations, traps, nine other languages) plus twice as many random
short conversational replies built from everyday fragments. ``classify`` caches nothing per text, so
repeating the mix measures the real work. Measurement only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tomllib
from pathlib import Path

from consentry.domain.keywords import classify

CASES = Path(__file__).resolve().parents[1] / "tests" / "domain" / "inbound_cases.toml"
# Pieces of ordinary replies to business texts; a few mention stop, cancel or end in passing.
FRAGMENTS = [
    "running late",
    "be there in 10",
    "see you tomorrow",
    "what time do you open",
    "can you call me back",
    "thanks",
    "thank you so much",
    "is my order ready",
    "where is my package",
    "sounds good",
    "how much is it",
    "ok",
    "got it",
    "can I reschedule to friday",
    "I'll pick it up at 5",
    "what's the address",
    "is the sale still on",
    "perfect",
    "see you then",
    "can you send the code again",
    "I didn't get the code",
    "my appointment is at 3pm",
    "do you have it in blue",
    "I'll stop by later",
    "when does the sale end",
    "no worries",
    "yes please",
    "what's the total",
    "confirmed",
    "the delivery guy left it at the door",
]
DECORATIONS = ["", "", "", "!", "?", ".", " :)", " 👍", " lol", "!!", " 🙏"]


def random_reply(rng: random.Random) -> str:
    """A short conversational reply: one to three fragments, maybe an emoji."""
    text = rng.choice([", ", ". ", " "]).join(rng.sample(FRAGMENTS, rng.randint(1, 3)))
    text += rng.choice(DECORATIONS)
    return text.capitalize() if rng.random() < 0.6 else text


def build_mix(seed: int) -> list[tuple[str, str | None]]:
    cases = tomllib.loads(CASES.read_text("utf-8"))["cases"]
    labelled = [(case["text"], case.get("hint")) for case in cases]
    rng = random.Random(seed)
    mix = labelled + [(random_reply(rng), None) for _ in range(2 * len(labelled))]
    rng.shuffle(mix)
    return mix


def measure(mix: list[tuple[str, str | None]], messages: int) -> float:
    """Seconds to classify ``messages`` replies taken round-robin from ``mix``."""
    size = len(mix)
    start = time.perf_counter()
    for index in range(messages):
        text, language = mix[index % size]
        classify(text, language)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="replies per round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (best is reported)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the random replies")
    options = parser.parse_args()

    mix = build_mix(options.seed)
    started = time.perf_counter()
    classify("STOP")
    print(f"first call (loads and indexes the rule files): {time.perf_counter() - started:.3f} s")
    print(f"mix: {len(mix)} distinct replies, {options.messages} classified per round")

    rates = []
    for number in range(1, options.rounds + 1):
        seconds = measure(mix, options.messages)
        rates.append(options.messages / seconds)
        print(f"round {number}: {rates[-1]:10,.0f} messages/s  {1e6 / rates[-1]:6.2f} us/message")
    best, median = max(rates), statistics.median(rates)
    print(f"best   {best:10,.0f} messages/s  {1e6 / best:6.2f} us/message")
    print(f"median {median:10,.0f} messages/s  {1e6 / median:6.2f} us/message")


if __name__ == "__main__":
    main()
