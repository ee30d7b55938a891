"""The simulated X counts a post's length as twitter-text does, also where it skips it."""

from __future__ import annotations

import random
import string

import pytest

from core.domain.text import x_weighted_length
from core.platforms.sandbox.twitter import weighted_length

TEXTS = [
    "", "Hello world", "Bench steady post 12 a1b2c3", "#herald @someone $CASH 100%",
    "http://localhost:8080/x https://t co", "line\nbreak", "tab\there", "\x00\x7f control",
    "a" * 281,
    # Where twitter-text's own count differs from one per character:
    "see example.com now", "https://t.co/abc", "crlf\r\nline", "cr\rline", "café", "🎉 party",
    "日本語", "x" * 270 + " a.io",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_length_is_twitter_texts(text: str) -> None:
    assert weighted_length(text) == x_weighted_length(text)


def test_the_length_of_random_ascii_is_twitter_texts() -> None:
    rnd = random.Random(7)
    pieces = ["http://localhost", "www", "@user", "#tag", "$CASH", "://", "#1", "*", "xn--", "\n"]
    for _ in range(500):
        words = [rnd.choice(pieces) if rnd.random() < 0.3 else
                 "".join(rnd.choice(string.printable) for _ in range(rnd.randint(0, 10)))
                 for _ in range(rnd.randint(1, 25))]
        text = " ".join(words)

        assert weighted_length(text) == x_weighted_length(text), text
