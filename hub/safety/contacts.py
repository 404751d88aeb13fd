"""Contact details in a message's text: where they are, so they can be masked.

Pure and fast (no I/O): ``find_contacts`` runs on every message between a
client and a freelancer, before anything is read from the store. A text with
nothing that could start a contact detail (no digit, no ``@``, ``.``, ``:``,
``/`` or ``#``, no spelled-out digit or "at"/"dot" word, no messenger name)
costs one regex search. The rules, and what deliberately does not match, are
in docs/trust-and-safety.md; the labelled corpus in
tests/data/contact_corpus.jsonl measures them (``python -m bench.contacts``).

Phone numbers written with a ``+`` or ``00`` country prefix are checked with
``phonenumbers`` (Google's libphonenumber metadata: a possible length for that
country); national numbers by their grouping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

ContactKind = Literal["email", "phone", "url", "handle"]

PLACEHOLDER = "[contact hidden]"


@dataclass(frozen=True, slots=True)
class ContactSpan:
    """``text[start:end]`` is a contact detail of ``kind``."""

    start: int
    end: int
    kind: ContactKind


# Top-level domains a bare domain must end with (a closed list keeps "v2.3.1",
# "file.py", "e.g." and "today.It" out). Not: "it", "is", "so", "no", "at",
# "do", "go", "my", "be", "am", "py", "js", "net" in ASP.NET (special-cased).
_TLDS = (
    "com|net|org|io|co|me|dev|app|ai|info|biz|us|uk|de|fr|es|ru|ua|pl|nl|ca|au|in|xyz|"
    "gg|ly|to|tv|cc|ws|eu|ch|se|br|mx|online|site|store|shop|tech|pro|link|page|"
    "email|live|cloud|gmail|mail"
)
_SPELLED_TLDS = "com|net|org|io|co|me|dev|app|ai|info|biz|us|uk|de|ru|in|xyz|gg"
_OPEN = r"[\(\[\{<]?"
_CLOSE = r"[\)\]\}>]?"
_AT = rf"(?:\s*{_OPEN}\s*(?:@|at)\s*{_CLOSE}\s*)"
_DOT = rf"(?:\s*{_OPEN}\s*(?:\.|dot)\s*{_CLOSE}\s*)"
_DIGIT_WORDS = "zero|oh|one|two|three|four|five|six|seven|eight|nine"
_PLATFORMS = (
    "telegram|tg|whatsapp|whats app|wa|skype|discord|signal|viber|wechat|instagram|insta|ig|"
    "snapchat|snap|kik|line id|facebook|fb|linkedin|twitter|x\\.com"
)

# Anything that could begin a contact detail; a text without it is clean.
# (A character class and a set of words: 4x faster than one regex alternation.)
_TRIGGER_CHARS = re.compile(r"[\d@.:/#]")
_TRIGGER_WORDS = frozenset(
    ["at", "dot", "whats", *_DIGIT_WORDS.split("|"), *re.findall(r"[a-z]+", _PLATFORMS)]
)
_LETTERS = re.compile(r"[a-z]+")

# The look-behind starts a match only at the start of a run of address
# characters: without it a long run with no "@" is tried from every position
# (quadratic: 60,000 characters took 20 s).
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+\s?@\s?[\w-]+(?:\s?\.\s?[\w-]+)*\s?\.\s?[a-z]{2,}\b", re.IGNORECASE
)
# "john at gmail dot com", "john[at]gmail[dot]com", "john (at) gmail.com".
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.+-])[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}(?:{_SPELLED_TLDS})\b", re.IGNORECASE
)
# "j o h n @ g m a i l . c o m": letters one by one around an @.
_SPACED_EMAIL = re.compile(
    # Only from the first of a run of single letters (not after "b " of "a b c"):
    # from each of them the match would be quadratic in the run's length.
    r"(?<!(?<!\w)\w )(?:\b\w ){2,}\w?\s*@\s*(?:\w ?){2,}(?:\s*(?:\.|dot)\s*(?:\w ?){2,3})?",
    re.IGNORECASE,
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_DOMAIN = re.compile(
    rf"\b(?<![@\w.-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?![.-]?\w)(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
# "gmail dot com", "my site dot io".
_SPELLED_DOMAIN = re.compile(
    rf"(?<![\w-])[\w-]+\s*{_OPEN}\s*dot\s*{_CLOSE}\s*(?:{_SPELLED_TLDS})\b", re.IGNORECASE
)
_NOT_DOMAINS = frozenset({"asp.net", "vb.net", "ado.net", "node.js", "vue.js", "next.js"})
_SKYPE = re.compile(r"\blive:[\w.\-]{3,}", re.IGNORECASE)
_DISCORD_TAG = re.compile(r"\b[\w.]{2,32}#\d{4}\b")
# A handle named after a platform: "telegram: @john_doe", "my skype is john.smith88",
# "whatsapp - jdoe". The platform word is kept; only the handle is a contact.
_PLATFORM_HANDLE = re.compile(
    rf"\b(?:{_PLATFORMS})\b(?:\s+(?:id|name|handle|username|user|acc(?:ount)?))?"
    r"(?:\s*(?::|-|=|is|->)\s*|\s+(?=@))(@?[\w][\w.\-]{2,31})",
    re.IGNORECASE,
)
_AT_HANDLE = re.compile(r"(?<![\w@])@[\w][\w.]{2,31}\b")
_PLATFORM_NEAR = re.compile(rf"\b(?:{_PLATFORMS})\b", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w.,/:$€£-])(?:\+|00)?\(?\d[\d \t().\-/]{5,22}\d(?![\w%/]|[.,]\d)")
_SPELLED_PHONE = re.compile(
    rf"\b(?:plus\s+)?(?:(?:(?:{_DIGIT_WORDS})\b|\d)[\s,.\-]*){{7,}}", re.IGNORECASE
)
_SPELLED_WORD = re.compile(rf"\b(?:{_DIGIT_WORDS})\b", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
_CURRENCY_AFTER = re.compile(
    r"^\s*(?:usd|eur|gbp|inr|dollars?|euros?|pounds?|rupees?|k\b|%|\$|€|£)", re.IGNORECASE
)
_CURRENCY_BEFORE = re.compile(r"(?:[$€£]|usd|eur|gbp|inr|rs\.?)\s*$", re.IGNORECASE)
_NOT_PHONE_BEFORE = re.compile(
    r"\b(?:isbn|issn|po|order|invoice|ref|reference|sku|iban|acct|account|tracking|id)"
    r"\s*(?:no\.?|number|#)?\s*[:#]?\s*$",
    re.IGNORECASE,
)
_PHONE_WORD_NEAR = re.compile(
    r"\b(?:call|phone|tel|text|sms|mobile|cell|number|whatsapp|telegram|viber|signal|reach|"
    r"ring|contact|dial|ph|mob)\b",
    re.IGNORECASE,
)


# Long texts are read in overlapping windows: a pattern that backtracks on some
# input (a long run it may start anywhere in) then costs at most a window's
# square, never the text's. A contact detail is far shorter than the overlap.
WINDOW = 2_000
OVERLAP = 200


def find_contacts(text: str) -> list[ContactSpan]:
    """The contact details in ``text``, sorted, without overlaps."""
    if not _TRIGGER_CHARS.search(text) and _TRIGGER_WORDS.isdisjoint(
        _LETTERS.findall(text.lower())
    ):
        return []
    if len(text) <= WINDOW:
        return _find(text)
    spans: list[ContactSpan] = []
    for start in range(0, len(text), WINDOW - OVERLAP):
        window = text[start : start + WINDOW]
        spans.extend(
            ContactSpan(start + span.start, start + span.end, span.kind) for span in _find(window)
        )
        if start + WINDOW >= len(text):
            break
    return _merge(spans)


def _find(text: str) -> list[ContactSpan]:
    spans: list[ContactSpan] = []
    for pattern in (_EMAIL, _SPELLED_EMAIL, _SPACED_EMAIL):
        spans.extend(ContactSpan(m.start(), m.end(), "email") for m in pattern.finditer(text))
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)]}'\"":
            end -= 1
        spans.append(ContactSpan(m.start(), end, "url"))
    for m in _DOMAIN.finditer(text):
        if m.group(0).lower() not in _NOT_DOMAINS:
            spans.append(ContactSpan(m.start(), m.end(), "url"))
    spans.extend(ContactSpan(m.start(), m.end(), "url") for m in _SPELLED_DOMAIN.finditer(text))
    spans.extend(ContactSpan(m.start(), m.end(), "handle") for m in _SKYPE.finditer(text))
    spans.extend(ContactSpan(m.start(), m.end(), "handle") for m in _DISCORD_TAG.finditer(text))
    for m in _PLATFORM_HANDLE.finditer(text):
        handle = m.group(1)
        if _is_handle(handle):
            spans.append(ContactSpan(m.start(1), m.end(1), "handle"))
    if "@" in text:
        for m in _AT_HANDLE.finditer(text):
            window = text[max(0, m.start() - 40) : m.end() + 40]
            if _PLATFORM_NEAR.search(window):
                spans.append(ContactSpan(m.start(), m.end(), "handle"))
    for m in _PHONE.finditer(text):
        if _is_phone(text, m.start(), m.group(0)):
            spans.append(ContactSpan(m.start(), m.end(), "phone"))
    for m in _SPELLED_PHONE.finditer(text):
        span = _spelled_phone(text, m.start(), m.group(0))
        if span is not None:
            spans.append(span)
    return _merge(spans)


def mask(text: str, spans: list[ContactSpan], placeholder: str = PLACEHOLDER) -> str:
    """``text`` with each span replaced by ``placeholder`` (spans by character)."""
    parts: list[str] = []
    last = 0
    for span in spans:
        parts.append(text[last : span.start])
        parts.append(placeholder)
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


def _is_handle(handle: str) -> bool:
    bare = handle.lstrip("@")
    if bare.lower() in _NOT_HANDLES:
        return False
    # A plain word after "my telegram is" could be an adjective ("busy");
    # a handle has an @, a digit, an underscore or a dot in it.
    return handle.startswith("@") or any(c.isdigit() or c in "_." for c in bare)


_NOT_HANDLES = frozenset({"the", "and", "for", "not", "fine", "okay", "ok", "down", "better"})


def _is_phone(text: str, start: int, candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if digits < 7 or digits > 15:
        return False
    stripped = candidate.strip()
    if _DATE.match(stripped) or re.match(r"^\d{1,2}:\d{2}", stripped):
        return False
    if _CURRENCY_BEFORE.search(text[max(0, start - 5) : start]):
        return False
    if _NOT_PHONE_BEFORE.search(text[max(0, start - 12) : start]):
        return False
    end = start + len(candidate)
    if _CURRENCY_AFTER.match(text[end : end + 9]):
        return False
    if stripped.startswith(("+", "00")):
        try:
            number = phonenumbers.parse(
                "+" + stripped[2:] if stripped.startswith("00") else stripped, None
            )
        except phonenumbers.NumberParseException:
            return False
        return bool(phonenumbers.is_possible_number(number))
    groups = [g for g in re.split(r"[^\d]+", stripped) if g]
    if len(groups) > 1 and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        seps = set(re.findall(r"[^\d]+", stripped))
        if len(seps) == 1 and seps <= {" ", ".", ","}:
            return False  # 1 000 000, 2.500.000: thousands
    if len(groups) == 1:
        # One run of digits: a phone at 10 or more (5551234567), an order or
        # invoice number below unless a phone word is near.
        return digits >= 10 or bool(_PHONE_WORD_NEAR.search(text[max(0, start - 30) : start]))
    if any(len(g) > 5 for g in groups[1:]) and digits < 10:
        return False
    # Date ranges and version lists: groups all of 1-2 digits except one year.
    if all(len(g) <= 2 or len(g) == 4 for g in groups) and len(groups) >= 3 and digits < 10:
        return False
    return True


def _spelled_phone(text: str, start: int, run: str) -> ContactSpan | None:
    words = _SPELLED_WORD.findall(run)
    digits = len(words) + sum(c.isdigit() for c in run)
    if len(words) < 3 or digits < 7:
        return None
    trimmed = run.rstrip(" \t,.-")
    return ContactSpan(start, start + len(trimmed), "phone")


def _merge(spans: list[ContactSpan]) -> list[ContactSpan]:
    """Overlapping or touching spans joined, in order."""
    if not spans:
        return spans
    spans.sort(key=lambda s: (s.start, -s.end))
    merged = [spans[0]]
    for span in spans[1:]:
        last = merged[-1]
        if span.start <= last.end:
            if span.end > last.end:
                merged[-1] = ContactSpan(last.start, span.end, last.kind)
        else:
            merged.append(span)
    return merged
