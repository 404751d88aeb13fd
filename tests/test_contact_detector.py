"""The contact-detail detector (hub/safety/contacts.py) on its labelled corpus,
and masking by character spans. A quality gate: no timing here."""

from __future__ import annotations

import itertools

import pytest

from bench.contacts import load, score
from hub.safety.contacts import PLACEHOLDER, find_contacts, mask


def test_corpus_meets_the_goals() -> None:
    rows = load()
    assert len(rows) >= 300
    result = score(rows)
    assert result.recall >= 0.95, result.misses
    assert result.precision >= 0.95, result.false_alarms


@pytest.mark.parametrize(
    "text",
    [
        "$1,250.00 for the whole thing",
        "1 500 EUR, due 2024-05-01 or 05/01/2024 at 10:30",
        "upgrade to v2.3.1, conversion +12.5%",
        "@alice can you check?",
        "I'm an ASP.NET developer",
        "Sounds good, I will send the next draft tomorrow",
    ],
)
def test_look_alikes_are_clean(text: str) -> None:
    assert find_contacts(text) == []


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("mail john.doe@gmail.com now", "john.doe@gmail.com"),
        ("john at gmail dot com", "john at gmail dot com"),
        ("call +44 20 7946 0958 pls", "+44 20 7946 0958"),
        ("five five five one two three four", "five five five one two three four"),
        ("see t.me/johndoe", "t.me/johndoe"),
        ("my telegram: @john_doe", "@john_doe"),
        ("skype live:john.smith_1", "live:john.smith_1"),
    ],
)
def test_contacts_are_found(text: str, hidden: str) -> None:
    spans = find_contacts(text)
    assert [text[s.start : s.end] for s in spans] == [hidden]


def test_masking_keeps_unicode_around_the_span() -> None:
    text = "Привет 👋🏽 @Zoë: 📞 +971 50 123 4567 — merci é"
    masked = mask(text, find_contacts(text))
    assert masked == f"Привет 👋🏽 @Zoë: 📞 {PLACEHOLDER} — merci é"


@pytest.mark.parametrize(
    "text",
    [
        "00000" + "x" * 60_000,
        "a b " * 15_000 + "@",
        "1-" * 30_000,
        "a-" * 30_000 + ".com",
        "a (dot) " * 7_000,
    ],
    ids=["letters", "spaced-letters", "digit-dashes", "word-dashes", "spelled-dots"],
)
def test_hostile_long_runs_are_read_in_linear_time(text: str) -> None:
    """Runs a pattern could start anywhere in: each of these took 20-60 s
    before the look-behinds and the windows (quadratic backtracking). No
    timing is asserted: a regression shows as a suite that stalls here."""
    spans = find_contacts(text)
    # The windows' spans are merged: in order, apart, inside the text.
    ends = [0] + [edge for span in spans for edge in (span.start, span.end)] + [len(text)]
    assert ends == sorted(ends)
    assert all(a.end < b.start for a, b in itertools.pairwise(spans))
