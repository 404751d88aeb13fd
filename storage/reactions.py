"""A message's reactions as stored, ``[{"emoji", "user_ids"}]``, and the two
changes to them; both engines write what these return."""

from __future__ import annotations

from typing import Any

Reactions = list[dict[str, Any]]


def with_reaction(
    reactions: Reactions, user_id: str, emoji: str, max_distinct: int
) -> Reactions | None:
    """``reactions`` with ``user_id``'s ``emoji`` added (the same list when it
    is there already); None when it would be emoji number ``max_distinct + 1``."""
    for reaction in reactions:
        if reaction["emoji"] == emoji:
            if user_id in reaction["user_ids"]:
                return reactions
            return [
                {"emoji": r["emoji"], "user_ids": [*r["user_ids"], user_id]} if r is reaction else r
                for r in reactions
            ]
    if len(reactions) >= max_distinct:
        return None
    return [*reactions, {"emoji": emoji, "user_ids": [user_id]}]


def without_reaction(reactions: Reactions, user_id: str, emoji: str) -> Reactions:
    """``reactions`` without ``user_id``'s ``emoji`` (the same list when it is
    not there); an emoji nobody uses any more goes."""
    if not any(r["emoji"] == emoji and user_id in r["user_ids"] for r in reactions):
        return reactions
    changed: Reactions = []
    for reaction in reactions:
        if reaction["emoji"] != emoji:
            changed.append(reaction)
        elif others := [u for u in reaction["user_ids"] if u != user_id]:
            changed.append({"emoji": emoji, "user_ids": others})
    return changed
