"""Full-text message search on MongoDB: the ``$text`` query and the highlighted
excerpts (SQLite's FTS5 makes its own).

``$text`` matches any of the words and has no highlighting, so the words are
checked again here: every one must occur as a whole word, case-insensitively,
as on SQLite. Pages are taken by skipping the earlier hits here, so deep pages
cost more.
"""

from __future__ import annotations

import re
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from ..records import MessageRecord
from .codec import Document, from_doc

_HIGHLIGHT_WIDTH = 120


async def text_search(
    messages: AsyncCollection[Document],
    scope: dict[str, Any],
    words: list[str],
    *,
    offset: int,
    limit: int,
) -> list[tuple[MessageRecord, str]]:
    """The messages matching ``scope`` that hold every one of ``words``, best
    ``$text`` score first (then newest), from ``offset``, each with its excerpt."""
    cursor = messages.find({**scope, "$text": {"$search": " ".join(words)}}).sort(
        [("score", {"$meta": "textScore"}), ("created_at", DESCENDING), ("_id", DESCENDING)]
    )
    word_patterns = [_word_pattern([word]) for word in words]
    any_word = _word_pattern(words)
    hits: list[tuple[MessageRecord, str]] = []
    skipped = 0
    try:
        async for doc in cursor:
            text = doc.get("text") or ""
            if not all(pattern.search(text) for pattern in word_patterns):
                continue
            if skipped < offset:
                skipped += 1
                continue
            hits.append((from_doc(MessageRecord, doc), _highlight(text, any_word)))
            if len(hits) >= limit:
                break
    finally:
        await cursor.close()
    return hits


def _word_pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _highlight(text: str, pattern: re.Pattern[str], width: int = _HIGHLIGHT_WIDTH) -> str:
    """``text`` with every match wrapped in ``<mark>``, cut to about ``width``
    characters around the first match, with ``…`` where it was cut."""
    matches = list(pattern.finditer(text))
    start, end = 0, len(text)
    if matches and len(text) > width:
        first = matches[0]
        start = max(0, min(first.start() - width // 4, len(text) - width))
        end = max(start + width, first.end())
        # Do not cut words in half (but never cut the first match away).
        while 0 < start < first.start() and text[start - 1].isalnum() and text[start].isalnum():
            start += 1
        while first.end() < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
            end -= 1
    elif len(text) > width:
        end = width
    parts, position = [], start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        parts.append(text[position : match.start()])
        parts.append(f"<mark>{match.group(0)}</mark>")
        position = match.end()
    parts.append(text[position:end])
    excerpt = "".join(parts)
    if start > 0:
        excerpt = "…" + excerpt.lstrip()
    if end < len(text):
        excerpt = excerpt.rstrip() + "…"
    return excerpt
