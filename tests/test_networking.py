"""/networking: lobbies, first-come-first-served matching over several rounds,
no-shows, leaving, ratings and connections, over the hub's real sockets.

``lobby_scenario`` runs against any list of hub base URLs: here one in-process
hub, in test_networking_cluster.py two hub processes behind Redis.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.clock import iso, parse_iso, utc_now
from hub.context import HUB
from hub.networking.matching import plan_pairs
from hub.networking.queues import pair_key
from processes import register
from recorder import Recorder
from waits import eventually, quiet

NET = "/networking"
SIG = "/signaling"
MINUTE_S = 1.0  # a 2-minute lobby's sessions last 2 s
NO_SHOW_S = 0.8
MATCH_S = 10.0  # how long a match or a signal may take to arrive
NETWORKING_SETTINGS: dict[str, Any] = {
    "networking_minute_s": MINUTE_S,
    "networking_no_show_s": NO_SHOW_S,
    "networking_tick_s": 0.05,
}


# The fast networking clock (a test's own hub_settings marker changes it).
pytestmark = pytest.mark.hub_settings(**NETWORKING_SETTINGS)


class Person:
    """One user with /networking and /signaling on one connection. Unless told
    otherwise it starts signaling as soon as it is matched (an offer from the
    offerer, an answer from the answerer), as a real client would."""

    def __init__(
        self, account: dict[str, Any], client: socketio.AsyncClient, auto_signal: bool
    ) -> None:
        self.account = account
        self.id = account["user"]["id"]
        self.name = account["user"]["display_name"]
        self.client = client
        self.auto_signal = auto_signal
        self.net = Recorder(client, NET)
        self.sig = Recorder(client, SIG)
        self.signal_acks: list[Any] = []
        self.signalling: asyncio.Task[None] | None = None  # the last auto signal
        client.on("*", self._on_net, namespace=NET)

    async def _on_net(self, event: str, data: Any) -> None:
        await self.net._record(event, data)
        if event == "match:found" and self.auto_signal:
            self.signalling = asyncio.create_task(self._signal(data))

    async def _signal(self, match: dict[str, Any]) -> None:
        kind = "offer" if match["role"] == "offerer" else "answer"
        self.signal_acks.append(
            await self.sig.call(
                "signal",
                {"session_id": match["session_id"], "type": kind, "sdp": f"v=0 {kind} {self.name}"},
            )
        )

    @property
    def matches(self) -> list[dict[str, Any]]:
        return self.net.events["match:found"]


class Net:
    """Users, REST and sockets spread over one or more hubs."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.http = aiohttp.ClientSession()
        self.people: list[Person] = []
        self.extra_clients: list[socketio.AsyncClient] = []

    async def rest(
        self,
        method: str,
        path: str,
        account: dict[str, Any] | None = None,
        json: Any = None,
        hub: int = 0,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {account['access_token']}"} if account else {}
        async with self.http.request(
            method, self.bases[hub % len(self.bases)] + "/api/v1" + path, json=json, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)

    async def register(self, name: str) -> dict[str, Any]:
        return await register(self.http, self.bases[0], name, role="freelancer")

    async def login(self, email: str) -> dict[str, Any]:
        status, body = await self.rest(
            "POST", "/auth/login", json={"email": email, "password": "correct horse"}
        )
        assert status == 200, body
        return body

    async def person(
        self, account: dict[str, Any], hub: int = 0, auto_signal: bool = True
    ) -> Person:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            self.bases[hub % len(self.bases)],
            namespaces=[NET, SIG],
            transports=["websocket"],
            auth={"token": account["access_token"]},
            wait_timeout=5,
        )
        person = Person(account, client, auto_signal)
        self.people.append(person)
        return person

    async def close(self) -> None:
        for client in [p.client for p in self.people] + self.extra_clients:
            if client.connected:
                await client.disconnect()
        await self.http.close()


def sessions_of(people: list[Person]) -> dict[str, dict[str, Any]]:
    """Every session seen so far: id -> {users: {user id: match}, starts_at}."""
    sessions: dict[str, dict[str, Any]] = {}
    for person in people:
        for match in person.matches:
            entry = sessions.setdefault(
                match["session_id"], {"users": {}, "starts_at": match["starts_at"]}
            )
            entry["users"][person.id] = match
    return sessions


def complete(people: list[Person]) -> list[dict[str, Any]]:
    """Sessions both sides were told about, in the order they started."""
    done = [s for s in sessions_of(people).values() if len(s["users"]) == 2]
    return sorted(done, key=lambda s: s["starts_at"])


async def lobby_scenario(net: Net, admin: dict[str, Any]) -> None:
    """Twelve users in a 2-minute lobby: six pairs at once, three rounds with no
    blocked pair and no repeat; a thirteenth waits and is served first next round;
    mutual connect creates the conversation; usage adds up."""
    status, lobby = await net.rest(
        "POST",
        "/networking/lobbies",
        admin,
        {"title": "Designers meet developers", "topic": "design", "duration_minutes": 2},
    )
    assert status == 201, lobby
    accounts = [await net.register(f"u{i:02d}") for i in range(13)]
    status, _ = await net.rest("POST", f"/users/{accounts[1]['user']['id']}/block", accounts[0])
    assert status == 200
    blocked = pair_key(accounts[0]["user"]["id"], accounts[1]["user"]["id"])
    people = [await net.person(account, hub=i) for i, account in enumerate(accounts[:12])]
    for person in people:  # first come, first served
        ack = await person.net.ok("lobby:join", {"lobby_id": lobby["id"]})
        assert ack["lobby_id"] == lobby["id"]

    await eventually(lambda: len(complete(people)) == 6, timeout=MATCH_S)
    round_one = complete(people)
    paired = [user for s in round_one for user in s["users"]]
    assert sorted(paired) == sorted(p.id for p in people)  # six disjoint pairs
    names = {p.id: p.name for p in people}
    expected = [
        ("u00", "u02"),
        ("u01", "u03"),
        ("u04", "u05"),
        ("u06", "u07"),
        ("u08", "u09"),
        ("u10", "u11"),
    ]  # u00 and u01 blocked each other
    assert sorted(tuple(sorted(names[u] for u in s["users"])) for s in round_one) == expected
    for session in round_one:
        roles = sorted(m["role"] for m in session["users"].values())
        assert roles == ["answerer", "offerer"]
        for user_id, match in session["users"].items():
            peer_id = next(u for u in session["users"] if u != user_id)
            assert match["peer"] == {
                "display_name": names[peer_id],
                "headline": "",
                "avatar_url": None,
            }  # no id, no email
            assert match["lobby_id"] == lobby["id"] and isinstance(match["ice_servers"], list)
            assert match["polite"] is (match["role"] == "answerer")
            length = parse_iso(match["ends_at"]) - parse_iso(match["starts_at"])
            assert length == timedelta(seconds=2 * MINUTE_S)

    # Signals flow between the two of a session, without the sender's id.
    await eventually(lambda: all(len(p.sig.events["signal"]) >= 1 for p in people), timeout=MATCH_S)
    for person in people:
        signal = person.sig.events["signal"][0]
        assert "from_user_id" not in signal
        assert signal["session_id"] == person.matches[0]["session_id"]
        assert all(ack["ok"] for ack in person.signal_acks), person.signal_acks

    thirteenth = await net.person(accounts[12], hub=1)
    people.append(thirteenth)
    names[thirteenth.id] = thirteenth.name
    assert (await thirteenth.net.ok("lobby:join", {"lobby_id": lobby["id"]}))["waiting"] == 1
    await quiet()  # for a match that must not come
    assert thirteenth.matches == []  # the odd one waits...

    await eventually(lambda: len(complete(people)) >= 18, timeout=20)
    sessions = complete(people)
    assert thirteenth.id in sessions[6]["users"]  # ...and is served first next round
    pairs = [pair_key(*s["users"]) for s in sessions]
    assert len(set(pairs)) == len(pairs), "a pair met twice in one lobby"
    assert blocked not in pairs
    for person in people[:12]:
        reasons = [e["reason"] for e in person.net.events["session:ended"]]
        assert reasons and set(reasons) == {"time_up"}, reasons

    # Both choose to connect: a direct conversation, and both are told.
    first = round_one[0]
    one, two = [next(p for p in people if p.id == u) for u in first["users"]]
    session_id = one.matches[0]["session_id"]
    rated = await one.net.ok(
        "session:rate", {"session_id": session_id, "stars": 5, "note": "great", "connect": True}
    )
    assert rated["connected"] is False and rated["conversation_id"] is None
    status, rated = await net.rest(
        "POST",
        f"/networking/sessions/{session_id}/rate",
        two.account,
        {"stars": 4, "connect": True},
        hub=1,
    )
    assert status == 200 and rated["connected"] is True, rated
    for person, peer in ((one, two), (two, one)):
        connected = (await person.net.wait_for("networking:connected"))[0]
        assert connected == {
            "session_id": session_id,
            "conversation_id": rated["conversation_id"],
            "peer_user_id": peer.id,
        }
    status, conversation = await net.rest(
        "GET", f"/conversations/{rated['conversation_id']}", one.account
    )
    assert status == 200 and conversation["type"] == "direct"
    assert conversation["context"] == {"type": "networking_session", "id": session_id}
    assert sorted(conversation["participant_ids"]) == sorted([one.id, two.id])
    status, view = await net.rest("GET", f"/networking/sessions/{session_id}", two.account)
    assert status == 200 and view["peer"]["user_id"] == one.id and view["connected"] is True
    status, inbox = await net.rest("GET", "/notifications", one.account)
    assert status == 200 and [
        n["data"] for n in inbox["items"] if n["type"] == "networking.connection"
    ] == [
        {
            "session_id": session_id,
            "conversation_id": rated["conversation_id"],
            "peer_user_id": two.id,
        }
    ]

    # A one-sided connect stays anonymous.
    other = round_one[1]
    three, four = [next(p for p in people if p.id == u) for u in other["users"]]
    other_id = three.matches[0]["session_id"]
    await three.net.ok("session:rate", {"session_id": other_id, "stars": 2, "connect": True})
    await four.net.ok("session:rate", {"session_id": other_id, "stars": 3, "connect": False})
    status, view = await net.rest("GET", f"/networking/sessions/{other_id}", three.account)
    assert status == 200 and view["peer"]["user_id"] is None and view["connected"] is False
    assert four.net.events["networking:connected"] == []

    status, usage = await net.rest("GET", "/networking/analytics/usage", admin)
    assert status == 200, usage
    row = next(r for r in usage["lobbies"] if r["lobby_id"] == lobby["id"])
    assert row["sessions"] >= 18 and row["ratings"] == 4
    assert row["average_rating"] == 3.5 and row["connections"] == 1
    assert row["connect_rate"] == round(1 / row["sessions"], 4)
    assert [d["duration_minutes"] for d in usage["by_duration"]] == [2]
    status, _ = await net.rest("GET", "/networking/analytics/usage", one.account)
    assert status == 403


@pytest.fixture
async def net(server: TestServer) -> Any:
    result = Net([str(server.make_url("")).rstrip("/")])
    yield result
    await result.close()


async def admin_of(net: Net, app: web.Application) -> dict[str, Any]:
    account = await net.register("admin")
    await app[HUB].accounts.set_role(account["user"]["id"], "admin")
    return account


@pytest.mark.slow  # thirteen users, three rounds of lobby minutes
async def test_twelve_users_three_rounds_and_an_odd_thirteenth(
    net: Net, app: web.Application
) -> None:
    await lobby_scenario(net, await admin_of(net, app))


async def lobby(net: Net, admin: dict[str, Any], **extra: Any) -> dict[str, Any]:
    status, body = await net.rest(
        "POST",
        "/networking/lobbies",
        admin,
        {"title": "Quick", "topic": "any", "duration_minutes": 2, **extra},
    )
    assert status == 201, body
    return body


@pytest.mark.slow  # waits out the no-show timer
async def test_a_no_show_requeues_the_other_side_first(net: Net, app: web.Application) -> None:
    room = await lobby(net, await admin_of(net, app))
    ann = await net.person(await net.register("ann"))
    ghost = await net.person(await net.register("ghost"), auto_signal=False)
    await ann.net.ok("lobby:join", {"lobby_id": room["id"]})
    await ghost.net.ok("lobby:join", {"lobby_id": room["id"]})
    await eventually(lambda: ann.matches and ghost.matches, timeout=MATCH_S)
    session_id = ann.matches[0]["session_id"]
    cat = await net.person(await net.register("cat"))
    await cat.net.ok("lobby:join", {"lobby_id": room["id"]})
    await quiet()  # for a match that must not come
    assert cat.matches == []

    ended = (await ann.net.wait_for("session:ended", timeout=NO_SHOW_S + 3))[0]
    assert ended == {"session_id": session_id, "reason": "peer_no_show"}
    assert (await ghost.net.wait_for("session:ended"))[0]["reason"] == "peer_no_show"
    await eventually(lambda: len(ann.matches) == 2 and cat.matches, timeout=MATCH_S)
    assert ann.matches[1]["session_id"] == cat.matches[0]["session_id"]
    # The one who never showed up left the lobby.
    await ghost.net.error("lobby:leave", {"lobby_id": room["id"]}, "not_found")
    assert len(ghost.matches) == 1


# Sessions long enough and no no-show: only leaving may end them here, however slow the machine.
@pytest.mark.hub_settings(networking_minute_s=30.0, networking_no_show_s=60.0)
async def test_leaving_requeues_the_peer_first(net: Net, app: web.Application) -> None:
    room = await lobby(net, await admin_of(net, app))
    ann, bob, cat = [await net.person(await net.register(n)) for n in ("ann", "bob", "cat")]
    await ann.net.ok("lobby:join", {"lobby_id": room["id"]})
    await bob.net.ok("lobby:join", {"lobby_id": room["id"]})
    await eventually(lambda: ann.matches and bob.matches, timeout=MATCH_S)
    await cat.net.ok("lobby:join", {"lobby_id": room["id"]})
    session_id = ann.matches[0]["session_id"]

    view = await ann.net.ok("session:leave", {"session_id": session_id})
    assert view["status"] == "ended" and view["end_reason"] == "peer_left"
    assert (await bob.net.wait_for("session:ended"))[0] == {
        "session_id": session_id,
        "reason": "peer_left",
    }
    await eventually(lambda: len(bob.matches) == 2 and cat.matches, timeout=MATCH_S)
    assert bob.matches[1]["session_id"] == cat.matches[0]["session_id"]  # bob first
    assert len(ann.matches) == 1  # ann waits: bob was her only possible peer

    # Leaving by disconnecting: the peer is told and queued again (with ann).
    await cat.client.disconnect()
    assert (await bob.net.wait_for("session:ended", 2, timeout=10))[1]["reason"] == "peer_left"
    await quiet(0.3)  # for a repeat match that must not come
    assert len(bob.matches) == 2  # bob met ann already: no repeat
    updates = bob.net.events["lobby:update"]
    assert updates[-1] == {
        "lobby_id": room["id"],
        "waiting": 2,
        "active_sessions": 0,
        "status": "open",
    }

    await ann.net.ok("lobby:leave", {"lobby_id": room["id"]})
    await ann.net.error("lobby:leave", {"lobby_id": room["id"]}, "not_found")


async def test_only_participants_see_or_signal_a_session(net: Net, app: web.Application) -> None:
    room = await lobby(net, await admin_of(net, app))
    ann, bob = [await net.person(await net.register(n)) for n in ("ann", "bob")]
    eve = await net.person(await net.register("eve"))
    for person in (ann, bob):
        await person.net.ok("lobby:join", {"lobby_id": room["id"]})
    await eventually(lambda: ann.matches and bob.matches, timeout=MATCH_S)
    session_id = ann.matches[0]["session_id"]
    for forged in ({}, {"from_user_id": ann.id}):
        await eve.sig.error(
            "signal",
            {"session_id": session_id, "type": "offer", "sdp": "v=0", **forged},
            "forbidden",
        )
    await eve.net.error(
        "session:rate", {"session_id": session_id, "stars": 5, "connect": True}, "forbidden"
    )
    await eve.net.error("session:leave", {"session_id": session_id}, "forbidden")
    for method, path, body in (
        ("GET", "", None),
        ("POST", "/leave", None),
        ("POST", "/rate", {"stars": 1, "connect": False}),
    ):
        status, _ = await net.rest(
            method, f"/networking/sessions/{session_id}{path}", eve.account, body
        )
        assert status == 403
    status, _ = await net.rest(
        "POST", "/live/signaling/offer", eve.account, {"session_id": session_id, "sdp": "v=0"}
    )
    assert status == 403
    # A participant over REST reaches the peer's connection, still anonymously.
    status, body = await net.rest(
        "POST", "/live/signaling/offer", ann.account, {"session_id": session_id, "sdp": "v=0 rest"}
    )
    assert status == 200 and body == {}
    await eventually(
        lambda: any(s.get("sdp") == "v=0 rest" for s in bob.sig.events["signal"]), timeout=MATCH_S
    )
    status, view = await net.rest("GET", f"/networking/sessions/{session_id}", bob.account)
    assert status == 200 and view["role"] == "answerer" and view["status"] == "active"
    assert view["peer"] == {
        "display_name": "ann",
        "headline": "",
        "avatar_url": None,
        "user_id": None,
    }
    await ann.net.ok("session:rate", {"session_id": session_id, "stars": 3, "connect": False})
    await ann.net.error(
        "session:rate", {"session_id": session_id, "stars": 3, "connect": False}, "conflict"
    )
    await quiet()  # for any event that would have leaked to eve
    assert dict(eve.net.events) == {} and dict(eve.sig.events) == {}


@pytest.mark.slow  # waits out a lobby's window
@pytest.mark.hub_settings(networking_no_show_s=60.0)  # only the lobby's close may end it
async def test_lobby_window_and_admin_rules(net: Net, app: web.Application) -> None:
    admin = await admin_of(net, app)
    user = await net.register("plain")
    status, _ = await net.rest(
        "POST", "/networking/lobbies", user, {"title": "x", "topic": "y", "duration_minutes": 2}
    )
    assert status == 403
    status, _body = await net.rest(
        "POST", "/networking/lobbies", admin, {"title": "x", "topic": "y", "duration_minutes": 3}
    )
    assert status == 422
    soon = await lobby(net, admin, starts_at=iso(utc_now() + timedelta(hours=1)))
    assert soon["status"] == "scheduled"
    ann, bob = [await net.person(await net.register(n)) for n in ("ann", "bob")]
    closing = await lobby(
        net, admin, duration_minutes=5, ends_at=iso(utc_now() + timedelta(seconds=2))
    )
    assert closing["status"] == "open"
    status, page = await net.rest("GET", "/networking/lobbies?duration=5", user)
    assert status == 200 and [item["id"] for item in page["items"]] == [closing["id"]]
    status, page = await net.rest("GET", "/networking/lobbies?limit=1", user)
    assert status == 200 and len(page["items"]) == 1 and page["next_cursor"]
    status, rest = await net.rest(
        "GET", f"/networking/lobbies?limit=1&cursor={page['next_cursor']}", user
    )
    assert status == 200 and rest["items"][0]["id"] != page["items"][0]["id"]

    await ann.net.error("lobby:join", {"lobby_id": soon["id"]}, "conflict")
    await ann.net.error("lobby:join", {"lobby_id": "nope"}, "not_found")
    for person in (ann, bob):
        await person.net.ok("lobby:join", {"lobby_id": closing["id"]})
    await ann.net.error("lobby:join", {"lobby_id": soon["id"]}, "conflict")  # one lobby at a time
    await eventually(lambda: ann.matches and bob.matches, timeout=MATCH_S)
    assert (await ann.net.wait_for("session:ended", timeout=8))[0]["reason"] == "lobby_closed"
    assert (await bob.net.wait_for("session:ended"))[0]["reason"] == "lobby_closed"
    status, closed = await net.rest("GET", f"/networking/lobbies/{closing['id']}", user)
    assert status == 200 and closed["status"] == "closed"
    assert closed["waiting"] == 0 and closed["active_sessions"] == 0
    await ann.net.error("lobby:join", {"lobby_id": closing["id"]}, "conflict")


def test_plan_pairs_is_first_come_first_served_and_fills_gaps() -> None:
    allowed = lambda a, b: {a, b} not in ({"a", "b"}, {"c", "d"})  # noqa: E731
    assert plan_pairs(["a", "b", "c", "d"], allowed) == [("a", "c"), ("b", "d")]
    # Greedy alone would pair a-c and leave b, d (who may not meet) waiting.
    only = {frozenset(p) for p in (("a", "c"), ("a", "d"), ("b", "c"))}
    pairs = plan_pairs(["a", "b", "c", "d"], lambda x, y: frozenset((x, y)) in only)
    assert sorted(pairs) == [("a", "d"), ("b", "c")]
    assert plan_pairs(["a"], allowed) == []
