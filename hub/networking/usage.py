"""Usage analytics (admin): sessions, ratings and connections per lobby, per
session length and in total. A connection is a session where both chose to connect."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from storage import Store

from .models import DurationUsage, LobbyUsage, Usage, UsageRow


@dataclass(slots=True)
class Tally:
    sessions: int = 0
    ratings: int = 0
    stars: int = 0
    connections: int = 0

    def add(self, other: Tally) -> None:
        self.sessions += other.sessions
        self.ratings += other.ratings
        self.stars += other.stars
        self.connections += other.connections

    def figures(self) -> dict[str, Any]:
        """The fields of a ``UsageRow``."""
        return {
            "sessions": self.sessions,
            "ratings": self.ratings,
            "average_rating": round(self.stars / self.ratings, 2) if self.ratings else None,
            "connections": self.connections,
            "connect_rate": round(self.connections / self.sessions, 4) if self.sessions else None,
        }


async def usage(store: Store) -> Usage:
    lobbies: list[LobbyUsage] = []
    by_duration: defaultdict[int, Tally] = defaultdict(Tally)
    total = Tally()
    for row in await store.networking.usage():
        lobby = await store.networking.get_lobby(row["lobby_id"])
        if lobby is None:
            continue
        tally = Tally(row["sessions"], row["ratings"], row["stars_total"], row["connections"])
        lobbies.append(
            LobbyUsage(
                lobby_id=lobby.id,
                title=lobby.title,
                topic=lobby.topic,
                duration_minutes=lobby.duration_minutes,
                **tally.figures(),
            )
        )
        by_duration[lobby.duration_minutes].add(tally)
        total.add(tally)
    return Usage(
        lobbies=lobbies,
        by_duration=[
            DurationUsage(duration_minutes=minutes, **tally.figures())
            for minutes, tally in sorted(by_duration.items())
        ],
        total=UsageRow(**total.figures()),
    )
