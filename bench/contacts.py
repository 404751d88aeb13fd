"""Precision, recall and cost of the contact-detail detector on the labelled corpus.

    .venv/bin/python -m bench.contacts [--corpus tests/data/contact_corpus.jsonl]

A message counts as found when the detector flags it and, for a message
labelled ``contact``, every expected contact lies inside the masked spans
(a detector that flags the right message but leaves the number visible has
not found it). Precision is over flagged messages, recall over contact ones.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.safety.contacts import ContactSpan, find_contacts

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "contact_corpus.jsonl"


@dataclass
class Score:
    messages: int
    contact: int
    true_positives: int
    false_positives: int
    false_negatives: int
    us_per_message: float
    misses: list[str]
    false_alarms: list[str]

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.contact if self.contact else 1.0


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def covered(text: str, contact: str, spans: list[ContactSpan]) -> bool:
    start = text.find(contact)
    if start < 0:
        raise ValueError(f"corpus: {contact!r} is not in {text!r}")
    end = start + len(contact)
    hidden = [False] * len(text)
    for span in spans:
        for i in range(span.start, span.end):
            hidden[i] = True
    # Spaces inside a spelled-out contact may stay visible; its characters may not.
    return all(hidden[i] or text[i].isspace() for i in range(start, end))


def score(rows: list[dict[str, Any]]) -> Score:
    tp = fp = fn = 0
    misses: list[str] = []
    alarms: list[str] = []
    for row in rows:
        text = row["text"]
        spans = find_contacts(text)
        if row["label"] == "contact":
            if spans and all(covered(text, c, spans) for c in row.get("contacts", [])):
                tp += 1
            else:
                fn += 1
                misses.append(text)
        elif spans:
            fp += 1
            alarms.append(f"{text}  -> {[text[s.start : s.end] for s in spans]}")
    texts = [row["text"] for row in rows]
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            find_contacts(text)
    elapsed = time.perf_counter() - started
    contact = sum(1 for row in rows if row["label"] == "contact")
    return Score(
        len(rows), contact, tp, fp, fn, elapsed / (rounds * len(rows)) * 1e6, misses, alarms
    )


def clean_text_cost(rounds: int = 20000) -> float:
    """µs per message for a typical chat line with nothing to find."""
    text = "Sounds good, I will send the next draft tomorrow morning"
    started = time.perf_counter()
    for _ in range(rounds):
        find_contacts(text)
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and false alarms")
    args = parser.parse_args()
    result = score(load(args.corpus))
    print(f"corpus: {result.messages} messages, {result.contact} with contact details")
    print(f"precision: {result.precision:.3f}  (goal >= 0.95)")
    print(f"recall:    {result.recall:.3f}  (goal >= 0.95)")
    print(f"cost:      {result.us_per_message:.1f} µs per corpus message")
    print(f"           {clean_text_cost():.1f} µs per plain chat line (the no-trigger path)")
    if args.verbose:
        for text in result.misses:
            print("MISS ", text)
        for text in result.false_alarms:
            print("FALSE", text)


if __name__ == "__main__":
    main()
