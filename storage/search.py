"""How a search query becomes words, the same on every engine."""

from __future__ import annotations

import re

MAX_SEARCH_WORDS = 16


def search_words(query: str) -> list[str]:
    """The user's words (runs of letters, digits and ``_``), at most
    ``MAX_SEARCH_WORDS``: no query syntax of any engine gets through."""
    return re.findall(r"\w+", query)[:MAX_SEARCH_WORDS]
