"""The five scenarios, each run against the hub and (where it makes sense) the
two reference servers with the same generator and the same workload."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from . import procs
from .stats import merge, summary
from .workers import CONV, WorkerPool, split

CANDIDATE_NAMESPACES = [
    "/conversations",
    "/presence",
    "/notifications",
    "/networking",
    "/signaling",
]
KINDS = ("hub", "bare", "node")
PROBE_USER = "01BENCHPROBE0000000000000"
WARMUP_BASE, WARMUP_CLIENTS = 10**7, 100  # idle: warm-up clients, numbered from WARMUP_BASE
LABELS = {"hub": "hub", "bare": "bare python-socketio", "node": "Node socket.io"}


@dataclass
class Sizes:
    workers: int = 4
    # (1) acked sends
    s1_senders: int = 64
    s1_window: int = 1
    s1_warmup_s: float = 2.0
    s1_measure_s: float = 8.0
    # (2) fan-out
    s2_members: int = 200
    s2_senders: int = 4
    s2_window: int = 4
    s2_warmup_s: float = 2.0
    s2_measure_s: float = 8.0
    s2_drain_s: float = 2.0
    # (3) idle memory
    s3_counts: tuple[int, ...] = (5_000, 20_000)
    s3_settle_s: float = 3.0
    # (4) reconnect storm
    s4_clients: int = 2_000
    s4_group: int = 100
    s4_missed: int = 50
    s4_timeout_s: float = 60.0
    # (5) two hubs + Redis
    s5_measure_s: float = 8.0


FULL = Sizes()
QUICK = Sizes(
    workers=2,
    s1_senders=16,
    s1_warmup_s=0.5,
    s1_measure_s=1.5,
    s2_members=50,
    s2_warmup_s=0.5,
    s2_measure_s=1.5,
    s2_drain_s=1.0,
    s3_counts=(300, 1_000),
    s3_settle_s=0.5,
    s4_clients=200,
    s4_group=50,
    s4_missed=50,
    s4_timeout_s=30.0,
    s5_measure_s=1.5,
)


@dataclass
class Bench:
    sizes: Sizes
    workdir: Path
    pin: bool = True
    log: Any = print
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    users: list[dict[str, str]] = field(default_factory=list)
    convs: dict[str, Any] = field(default_factory=dict)
    namespaces: list[str] | None = None
    profile_dir: Path | None = None  # py-spy the hub during the max-rate runs of (1) and (2)
    results: dict[str, Any] = field(default_factory=dict)
    other_cpu: list[float] = field(default_factory=list)  # per measurement window, in cores
    kinds: tuple[str, ...] = KINDS  # which servers scenarios 1-3 measure
    quiet_budget_s: float = 0.0  # how long the run may wait for a quiet machine, in all
    quiet_waited_s: float = 0.0
    # Clients offer permessage-deflate as browsers do (--no-deflate: they do not).
    deflate: bool = True
    hub_settings: dict[str, str] = field(default_factory=dict)  # HUB_* of every hub run
    _runs: int = 0

    # Placement

    @property
    def server_cpus(self) -> list[int] | None:
        return [0] if self.pin else None

    @property
    def generator_cpus(self) -> list[int] | None:
        return [1] if self.pin else None

    # Setup: one pool of real accounts and conversations, made once per run
    # through the hub's REST API, then copied into each hub's fresh data dir.

    @property
    def seed(self) -> Path:
        return self.workdir / "seed"

    def users_needed(self, scenarios: list[str]) -> int:
        s = self.sizes
        need = 2
        if "sends" in scenarios:
            need = max(need, 2 * s.s1_senders)
        if "fanout" in scenarios or "cluster" in scenarios:
            need = max(need, s.s2_members)
        if "storm" in scenarios:
            need = max(need, s.s4_clients + s.s4_clients // s.s4_group)
        return need

    def setup(self, scenarios: list[str]) -> None:
        started = time.perf_counter()
        hub = procs.start_hub("setup", self.seed, self.secret, None, sqlite_synchronous="NORMAL")
        try:
            asyncio.run(self._populate(hub.url, scenarios))
        finally:
            hub.stop()
        if "idle" in scenarios or "storm" in scenarios:  # both probe the namespaces
            idle = range(max(self.sizes.s3_counts)) if "idle" in scenarios else range(0)
            warmup = range(WARMUP_BASE, WARMUP_BASE + WARMUP_CLIENTS) if idle else range(0)
            self._add_idle_accounts([PROBE_USER, *map(idle_user, [*idle, *warmup])])
        self.log(
            f"setup: {len(self.users)} accounts, conversations "
            f"{ {k: (len(v) if isinstance(v, list) else 1) for k, v in self.convs.items()} } "
            f"in {time.perf_counter() - started:.1f} s"
        )

    async def _populate(self, url: str, scenarios: list[str]) -> None:
        s = self.sizes
        count = self.users_needed(scenarios)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=32), timeout=aiohttp.ClientTimeout(total=60)
        ) as session:
            semaphore = asyncio.Semaphore(16)

            async def post(path: str, body: dict[str, Any], token: str | None = None) -> Any:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                async with semaphore:
                    async with session.post(
                        f"{url}/api/v1{path}", json=body, headers=headers
                    ) as response:
                        if response.status not in (200, 201):
                            raise RuntimeError(
                                f"POST {path}: {response.status} {await response.text()}"
                            )
                        return await response.json()

            async def register(i: int) -> dict[str, str]:
                made = await post(
                    "/auth/register",
                    {
                        "email": f"bench{i}@example.com",
                        "password": "bench password 1",
                        "display_name": f"bench {i}",
                        "role": "client",
                    },
                )
                return {"id": made["user"]["id"], "token": made["access_token"]}

            self.users = list(await asyncio.gather(*(register(i) for i in range(count))))
            u = self.users

            async def group(creator: int, members: list[int]) -> str:
                made = await post(
                    "/conversations",
                    {
                        "participant_ids": [u[m]["id"] for m in members],
                        "type": "group",
                        "title": "bench",
                    },
                    u[creator]["token"],
                )
                return made["id"]

            async def direct(a: int, b: int) -> str:
                made = await post(
                    "/conversations", {"participant_ids": [u[b]["id"]]}, u[a]["token"]
                )
                return made["id"]

            # One at a time: concurrent creates hit a hub bug (500, "assert
            # membership is not None" in ConversationService._view).
            if "sends" in scenarios:
                n = s.s1_senders
                self.convs["direct"] = [await direct(i, n + i) for i in range(n)]
            if "fanout" in scenarios or "cluster" in scenarios:
                self.convs["group"] = await group(0, list(range(1, s.s2_members)))
            if "storm" in scenarios:
                self.convs["storm"] = [
                    await group(s.s4_clients + g, list(range(g * s.s4_group, (g + 1) * s.s4_group)))
                    for g in range(s.s4_clients // s.s4_group)
                ]

    def _add_idle_accounts(self, user_ids: list[str]) -> None:
        """Accounts for the idle clients, written straight into the seed
        database (registering 20k over REST would take a minute of the budget
        and changes nothing per socket): each a copy of the first registered
        user with its own id and email, with one session (``session_of``) that
        the tokens of ``mint`` name."""
        db = sqlite3.connect(self.seed / "hub.db")
        try:
            columns = [row[1] for row in db.execute("PRAGMA table_info(users)")]
            template = dict(
                zip(
                    columns,
                    db.execute(
                        "SELECT * FROM users WHERE id = ?", (self.users[0]["id"],)
                    ).fetchone(),
                    strict=True,
                )
            )
            rows = [
                tuple(
                    {**template, "id": u, "email": f"{u.lower()}@example.com"}[c] for c in columns
                )
                for u in user_ids
            ]
            with db:
                db.executemany(
                    f"INSERT INTO users ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    rows,
                )
                db.executemany(
                    "INSERT INTO sessions (id, user_id, created_at, last_used_at) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (session_of(u), u, template["created_at"], template["created_at"])
                        for u in user_ids
                    ],
                )
        finally:
            db.close()

    def fresh_datadir(self, name: str) -> Path:
        self._runs += 1
        datadir = self.workdir / f"{self._runs:02d}-{name}"
        datadir.mkdir(parents=True)
        for path in self.seed.glob("hub.db*"):
            shutil.copy2(path, datadir / path.name)
        return datadir

    def wait_quiet(self) -> None:
        """Before a server run: wait (within a budget for the whole run) until
        the rest of the machine uses less than 0.3 of a core, so that other
        workloads disturb the figures less. Measurements record what remained."""
        while self.quiet_budget_s > 0:
            before, started = procs.machine_busy_seconds(), time.monotonic()
            time.sleep(1.0)
            busy = (procs.machine_busy_seconds() - before) / (time.monotonic() - started)
            self.quiet_budget_s -= time.monotonic() - started
            if busy < 0.3:
                return
            self.quiet_waited_s += time.monotonic() - started

    def start(self, kind: str, name: str, cpus: list[int] | None, **settings: Any) -> procs.Server:
        self.wait_quiet()
        if kind == "hub":
            settings = {**self.hub_settings, **settings}
            return procs.start_hub(name, self.fresh_datadir(name), self.secret, cpus, **settings)
        self._runs += 1
        workdir = self.workdir / f"{self._runs:02d}-{name}"
        if kind == "bare":
            return procs.start_bare(workdir, CANDIDATE_NAMESPACES, cpus)
        return procs.start_node(workdir, CANDIDATE_NAMESPACES, cpus)

    def pool(self, cpus: list[int] | None) -> WorkerPool:
        """Load-generator processes whose clients offer deflate as this run says."""
        return WorkerPool(self.sizes.workers, cpus, self.deflate)

    def mint(self, user_id: str) -> str:
        """An access token exactly like the hub's own (HS256, same claims), for
        the idle accounts of ``_add_idle_accounts``."""
        now = int(time.time())
        return jwt.encode(
            {
                "sub": user_id,
                "role": "client",
                "sid": session_of(user_id),
                "typ": "access",
                "iat": now,
                "exp": now + 7200,
                "jti": secrets.token_hex(8),
            },
            self.secret,
            algorithm="HS256",
        )

    def detect_namespaces(self, pool: WorkerPool, url: str) -> list[str]:
        if self.namespaces is None:
            token = self.mint(PROBE_USER)
            found = (
                pool.conns
                and pool.call(
                    "probe_namespaces",
                    [{"url": url, "token": token, "candidates": CANDIDATE_NAMESPACES}]
                    + [{"url": url, "token": token, "candidates": []}] * (len(pool) - 1),
                )[0]
            )
            self.namespaces = list(found) or [CONV]
            self.log(f"hub namespaces: {', '.join(self.namespaces)}")
        return self.namespaces

    # Measuring helpers

    def _connect(
        self,
        pool: WorkerPool,
        url: str,
        specs: list[tuple[Any, str]],
        namespaces: list[str],
        concurrency: int = 64,
    ) -> dict[str, Any]:
        parts = split(specs, len(pool))
        replies = pool.call(
            "connect",
            [
                {"url": url, "specs": part, "namespaces": namespaces, "concurrency": concurrency}
                for part in parts
            ],
            timeout=300,
        )
        failed = sum(r["failed"] for r in replies)
        if failed:
            errors = [e for r in replies for e in r["errors"]]
            raise RuntimeError(f"{failed} of {len(specs)} clients failed to connect: {errors[:3]}")
        total = sum(r["total"] for r in replies)
        return {
            "seconds": max(r["seconds"] for r in replies),
            # of the clients connected: the share with permessage-deflate negotiated
            "deflate_negotiated": sum(r["deflate"] for r in replies) / total if total else None,
        }

    def _measure(
        self,
        pool: WorkerPool,
        op: str,
        args: list[dict[str, Any]],
        t0: float,
        t1: float,
        servers: list[procs.Server],
        timeout: float,
        profile: str | None = None,
    ) -> tuple[list[Any], dict[str, float]]:
        """Run ``op`` on every worker; read the CPU time of the servers and the
        workers at ``t0`` and ``t1``. With ``profile`` (and --profile), py-spy
        samples the first server over the same window."""
        pool.send(op, args)
        _sleep_until(t0)
        server_a = sum(s.cpu() for s in servers)
        gen_a = sum(procs.cpu_seconds(pid) for pid in pool.pids)
        busy_a = procs.machine_busy_seconds()
        spies = []
        if profile and self.profile_dir is not None:
            spies = procs.py_spy(servers[0].pid, self.profile_dir / profile, t1 - t0)
        _sleep_until(t1)
        server_b = sum(s.cpu() for s in servers)
        gen_b = sum(procs.cpu_seconds(pid) for pid in pool.pids)
        busy_b = procs.machine_busy_seconds()
        replies = pool.collect(timeout)
        for spy in spies:
            try:
                spy.wait(30)
            except Exception:
                spy.kill()
        span = t1 - t0
        server, generator = server_b - server_a, gen_b - gen_a
        # Whatever else kept the machine busy meanwhile (other processes, and
        # the kernel's own work): a large figure means a noisy measurement.
        other = max(0.0, (busy_b - busy_a) - server - generator)
        self.other_cpu.append(other / span)
        return replies, {
            "server_cpu_s": server,
            "server_cpu_util": server / span,
            "generator_cpu_util": generator / span,
            "other_cpu_util": other / span,
        }

    # (1) durable acked sends vs ack-echo

    def scenario_sends(self) -> None:
        s = self.sizes
        out: dict[str, Any] = {}
        for kind in self.kinds:
            with contextlib.ExitStack() as stack:
                server = stack.enter_context(self.start(kind, "sends-" + kind, self.server_cpus))
                pool = stack.enter_context(self.pool(self.generator_cpus))
                if kind == "hub":
                    specs = [(i, self.users[i]["token"]) for i in range(s.s1_senders)]
                    convs = self.convs["direct"]
                    event = "message:send"
                else:
                    specs = [(i, f"token-{i}") for i in range(s.s1_senders)]
                    convs = [f"room-{i}" for i in range(s.s1_senders)]
                    event = "echo"
                connected = self._connect(pool, server.url, specs, [CONV])
                senders = split([(i, convs[i]) for i in range(s.s1_senders)], len(pool))

                start_at = time.time() + 0.5
                t0 = start_at + s.s1_warmup_s
                t1 = t0 + s.s1_measure_s
                replies, cpu = self._measure(
                    pool,
                    "closed_loop",
                    [
                        {
                            "senders": part,
                            "namespace": CONV,
                            "event": event,
                            "kind": kind,
                            "window": s.s1_window,
                            "start_at": start_at,
                            "t0": t0,
                            "t1": t1,
                            "tag": f"max{int(start_at)}",
                        }
                        for part in senders
                    ],
                    t0,
                    t1,
                    [server],
                    60,
                    profile="profile-sends-hub" if kind == "hub" else None,
                )
                acks = sum(r["count"] for r in replies)
                rate = acks / (t1 - t0)
                max_run = {
                    "rate": rate,
                    "acks": acks,
                    **summary(merge(r["lat"] for r in replies)),
                    "errors": sum(r["errors"] for r in replies),
                    "stuck": sum(r["stuck"] for r in replies),
                    "first_error": next(
                        (r["first_error"] for r in replies if r["first_error"]), None
                    ),
                    **cpu,
                }

                half = rate / 2
                start_at = time.time() + 0.5
                t0 = start_at + s.s1_warmup_s
                t1 = t0 + s.s1_measure_s
                watched = self._hub_histograms(server) if kind == "hub" else None
                # One generator process sends it all: several processes sharing
                # the generator's core would add CPU-scheduling delays (several
                # ms) to the latencies measured.
                replies, cpu = self._measure(
                    pool,
                    "open_loop",
                    [
                        {
                            "senders": part if w == 0 else [],
                            "namespace": CONV,
                            "event": event,
                            "kind": kind,
                            "rate": half,
                            "start_at": start_at,
                            "t0": t0,
                            "t1": t1,
                            "tag": f"half{int(start_at)}",
                        }
                        for w, part in enumerate(senders)
                    ],
                    t0,
                    t1,
                    [server],
                    60,
                )
                half_acks = sum(r["count"] for r in replies)
                half_run = {
                    "target_rate": half,
                    "rate": half_acks / (t1 - t0),
                    **summary(merge(r["lat"] for r in replies)),
                    "errors": sum(r["errors"] for r in replies),
                    "unanswered": sum(r["outstanding"] for r in replies),
                    "cpu_us_per_ack": cpu["server_cpu_s"] / half_acks * 1e6 if half_acks else None,
                    **cpu,
                }
                if watched is not None:
                    half_run.update(self._stalls(server, watched))
                out[kind] = {
                    "max": max_run,
                    "half": half_run,
                    "senders": s.s1_senders,
                    "window": s.s1_window,
                    "event": event,
                    "deflate_offered": self.deflate,
                    "deflate_negotiated": connected["deflate_negotiated"],
                }
                self.log(
                    f"  sends {LABELS[kind]}: {rate:,.0f}/s p50 {max_run['p50_ms']:.2f} ms "
                    f"p99 {max_run['p99_ms']:.2f} ms; at {half:,.0f}/s p99 "
                    f"{half_run['p99_ms']:.2f} ms ({_stall_note(half_run)}); errors "
                    f"{max_run['errors']}+"
                    f"{half_run['errors']}; server cpu {max_run['server_cpu_util']:.0%}, "
                    f"generator cpu {max_run['generator_cpu_util']:.0%}, other "
                    f"{max_run['other_cpu_util']:.0%}/{half_run['other_cpu_util']:.0%}"
                )
                if max_run["first_error"]:
                    self.log(f"    first error: {max_run['first_error']}")
        self.results["sends"] = out

    @staticmethod
    def _hub_histograms(server: procs.Server) -> dict[str, dict[float, float]]:
        """The hub's loop-lag and append-latency histograms, for ``_stalls``."""
        return {
            "lag": procs.histogram(server.url, "hub_event_loop_lag_seconds"),
            "append": procs.histogram(
                server.url, "hub_store_latency_seconds", operation="messages.append"
            ),
        }

    def _stalls(self, server: procs.Server, before: dict[str, Any]) -> dict[str, Any]:
        """What the hub itself saw since ``before``: event-loop lags over 25 ms
        (and the bucket of the worst), and the append latency's p99 bucket."""
        after = self._hub_histograms(server)
        lag = {b: after["lag"][b] - before["lag"].get(b, 0) for b in after["lag"]}
        append = {b: after["append"][b] - before["append"].get(b, 0) for b in after["append"]}
        total = lag.get(float("inf"), 0)
        slow = total - lag.get(0.025, 0)
        worst = min((b for b, n in lag.items() if n == total), default=None)
        appends = append.get(float("inf"), 0)
        p99 = min((b for b, n in append.items() if n >= 0.99 * appends), default=None)
        return {
            "loop_lags_over_25ms": slow,
            "loop_lag_worst_bucket_ms": None if worst is None else worst * 1000,
            "append_p99_bucket_ms": None if p99 is None or not appends else p99 * 1000,
        }

    # (2) fan-out in one 200-member conversation vs room broadcast

    def _fanout_clients(self, kind: str) -> tuple[list[tuple[Any, str]], str, str, str]:
        s = self.sizes
        if kind == "hub":
            return (
                [(i, self.users[i]["token"]) for i in range(s.s2_members)],
                self.convs["group"],
                "message:send",
                "hub",
            )
        return (
            [(i, f"token-{i}") for i in range(s.s2_members)],
            "fanout",
            "broadcast",
            "broadcast",
        )

    def _run_fanout(
        self,
        pool: WorkerPool,
        servers: list[procs.Server],
        conv: str,
        event: str,
        kind: str,
        measure_s: float,
        warmup_s: float,
        profile: str | None = None,
    ) -> dict[str, Any]:
        s = self.sizes
        start_at = time.time() + 0.5
        t0 = start_at + warmup_s
        t1 = t0 + measure_s
        replies, cpu = self._measure(
            pool,
            "fanout",
            {
                "senders": [(k, conv) for k in range(s.s2_senders)],
                "namespace": CONV,
                "event": event,
                "kind": kind,
                "window": s.s2_window,
                "start_at": start_at,
                "t0": t0,
                "t1": t1,
                "drain_s": s.s2_drain_s,
                "tag": f"fan{int(start_at * 1000)}",
            },
            t0,
            t1,
            servers,
            60,
            profile,
        )
        deliveries = sum(r["deliveries"] for r in replies)
        sent = sum(r["sent"] for r in replies)
        expected = sent * (s.s2_members - 1)
        received = sum(r["total"] for r in replies)
        return {
            "deliveries_per_s": deliveries / (t1 - t0),
            "deliveries": deliveries,
            **summary(merge(r["lat"] for r in replies)),
            "ack": summary(merge(r["ack_lat"] for r in replies)),
            "messages_sent": sent,
            "delivered_fraction": received / expected if expected else None,
            "cpu_s_per_100k": cpu["server_cpu_s"] / deliveries * 1e5 if deliveries else None,
            "errors": sum(r["errors"] for r in replies),
            "first_error": next((r["first_error"] for r in replies if r["first_error"]), None),
            "bad_stamps": sum(r["bad"] for r in replies),
            **cpu,
        }

    def scenario_fanout(self) -> None:
        s = self.sizes
        out: dict[str, Any] = {}
        for kind in self.kinds:
            with contextlib.ExitStack() as stack:
                server = stack.enter_context(self.start(kind, "fanout-" + kind, self.server_cpus))
                pool = stack.enter_context(self.pool(self.generator_cpus))
                specs, conv, event, payload_kind = self._fanout_clients(kind)
                connected = self._connect(pool, server.url, specs, [CONV])
                if kind != "hub":
                    joined = pool.call(
                        "call_each",
                        [
                            {
                                "namespace": CONV,
                                "event": "join",
                                "payloads": {k: {"room": conv} for k, _ in part},
                            }
                            for part in split(specs, len(pool))
                        ],
                    )
                    assert sum(j["ok"] for j in joined) == len(specs), joined
                run = self._run_fanout(
                    pool,
                    [server],
                    conv,
                    event,
                    payload_kind,
                    s.s2_measure_s,
                    s.s2_warmup_s,
                    "profile-fanout-hub" if kind == "hub" else None,
                )
                out[kind] = {
                    **run,
                    "members": s.s2_members,
                    "senders": s.s2_senders,
                    "window": s.s2_window,
                    "deflate_offered": self.deflate,
                    "deflate_negotiated": connected["deflate_negotiated"],
                }
                self.log(
                    f"  fan-out {LABELS[kind]}: {run['deliveries_per_s']:,.0f} deliveries/s, "
                    f"p50 {run['p50_ms']:.1f} ms p99 {run['p99_ms']:.1f} ms, "
                    f"{run['cpu_s_per_100k']:.2f} cpu s/100k, delivered "
                    f"{run['delivered_fraction']:.4f}, server cpu {run['server_cpu_util']:.0%}, "
                    f"generator cpu {run['generator_cpu_util']:.0%}, other "
                    f"{run['other_cpu_util']:.0%}, errors {run['errors']}, deflate "
                    f"{_deflate(self.deflate, connected['deflate_negotiated'])}"
                )
                if run["first_error"]:
                    self.log(f"    first error: {run['first_error']}")
        self.results["fanout"] = out

    # (3) idle authenticated clients on every namespace

    def scenario_idle(self) -> None:
        s = self.sizes
        out: dict[str, Any] = {}
        for kind in self.kinds:
            with contextlib.ExitStack() as stack:
                server = stack.enter_context(self.start(kind, "idle-" + kind, self.server_cpus))
                pool = stack.enter_context(self.pool(self.generator_cpus))
                if kind == "hub":
                    namespaces = self.detect_namespaces(pool, server.url)
                    token = lambda i: self.mint(idle_user(i))  # noqa: E731
                else:
                    namespaces = self.namespaces or [CONV, "/presence"]
                    token = lambda i: f"token-{i}"  # noqa: E731
                # Warm up (imports, first allocations), then the baseline.
                warmup = range(WARMUP_BASE, WARMUP_BASE + WARMUP_CLIENTS)
                self._connect(pool, server.url, [(f"w{i}", token(i)) for i in warmup], namespaces)
                pool.call("close_all", {})
                time.sleep(s.s3_settle_s)
                base = server.rss()
                points = []
                connected = 0
                # One fd per client in the server: the fd limit (RLIMIT_NOFILE,
                # inherited from this process) caps what one server can hold.
                cap = resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 150
                counts = sorted({min(c, cap) for c in s.s3_counts})
                for count in counts:
                    started = time.perf_counter()
                    overflows = procs.listen_overflows()
                    spies = []
                    if kind == "hub" and count == counts[-1] and self.profile_dir is not None:
                        spies = procs.py_spy(
                            server.pid, self.profile_dir / "profile-connect-hub", 10
                        )
                    try:  # 128 connects in flight: the aiohttp servers' default backlog
                        made = self._connect(
                            pool,
                            server.url,
                            [(i, token(i)) for i in range(connected, count)],
                            namespaces,
                            concurrency=max(1, 128 // len(pool)),
                        )
                    except RuntimeError as exc:
                        self.log(f"  idle {LABELS[kind]}: stopped before {count}: {exc}")
                        points.append({"clients": count, "error": str(exc)[:500]})
                        break
                    took = time.perf_counter() - started
                    for spy in spies:
                        spy.wait(30)
                    rate = (count - connected) / took
                    connected = count
                    time.sleep(s.s3_settle_s)
                    rss = server.rss()
                    points.append(
                        {
                            "clients": count,
                            "rss_bytes": rss,
                            "base_bytes": base,
                            "per_client_bytes": (rss - base) / count,
                            "connects_per_s": rate,
                            "listen_overflows": procs.listen_overflows() - overflows,
                            "capped_from": next((c for c in s.s3_counts if c > count == cap), None),
                            "deflate_negotiated": made["deflate_negotiated"],
                        }
                    )
                    self.log(
                        f"  idle {LABELS[kind]}: {count:,} clients x {len(namespaces)} "
                        f"namespaces: RSS {rss / 2**20:,.0f} MiB (base {base / 2**20:,.0f}), "
                        f"{(rss - base) / count / 1024:.1f} KiB/client, "
                        f"{rate:,.0f} connects/s, deflate "
                        f"{_deflate(self.deflate, made['deflate_negotiated'])}"
                    )
                out[kind] = {
                    "namespaces": namespaces,
                    "points": points,
                    "deflate_offered": self.deflate,
                }
        self.results["idle"] = out

    # (4) reconnect storm

    def scenario_storm(self) -> None:
        s = self.sizes
        groups = s.s4_clients // s.s4_group
        convs = self.convs["storm"]
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(self.start("hub", "storm-hub", self.server_cpus))
            pool = stack.enter_context(self.pool(self.generator_cpus))
            namespaces = self.detect_namespaces(pool, server.url)
            members = [(i, self.users[i]["token"]) for i in range(s.s4_clients)]
            senders = [(f"s{g}", self.users[s.s4_clients + g]["token"]) for g in range(groups)]
            conv_of = {i: convs[i // s.s4_group] for i in range(s.s4_clients)}
            self._connect(pool, server.url, members, namespaces)
            sender_parts = split(senders, len(pool))
            pool.call(
                "connect",
                [{"url": server.url, "specs": part, "namespaces": [CONV]} for part in sender_parts],
            )
            sender_conv = {f"s{g}": convs[g] for g in range(groups)}

            def send_round(n: int, tag: str) -> dict[str, int]:
                """Each sender sends ``n`` messages, one after another; returns the
                last seq per conversation from the acks."""
                replies = pool.call(
                    "send_n",
                    [
                        {"senders": [(k, sender_conv[k]) for k, _ in part], "n": n, "tag": tag}
                        for part in sender_parts
                    ],
                    timeout=300,
                )
                last: dict[str, int] = {}
                for reply in replies:
                    if reply["errors"]:
                        raise RuntimeError(f"sends failed: {reply['errors']}")
                    last.update(reply["last"])
                return last

            pool.call("set_mode", {"mode": "track"})
            seeded = send_round(1, "seed")
            # Every member holds the first message live before dropping.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                held = sum(pool.call("live_count", {}))
                if held >= s.s4_clients:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"only {held} of {s.s4_clients} members got the first message")
            dropped = sum(
                pool.call(
                    "close_keys",
                    [{"keys": [k for k, _ in part]} for part in split(members, len(pool))],
                )
            )
            pool.call("set_mode", {"mode": None})
            time.sleep(1.0)
            started = time.perf_counter()
            last = send_round(s.s4_missed, "missed")
            send_s = time.perf_counter() - started
            specs = [
                (i, tok, conv_of[i], seeded[conv_of[i]], last[conv_of[i]]) for i, tok in members
            ]
            start_at = time.time() + 1.0
            overflows = procs.listen_overflows()
            replies = pool.call(
                "storm",
                [
                    {
                        "url": server.url,
                        "specs": part,
                        "start_at": start_at,
                        "timeout": s.s4_timeout_s,
                    }
                    for part in split(specs, len(pool))
                ],
                timeout=s.s4_timeout_s + 60,
            )
            done = sorted(t for r in replies for t in r["done"])
            whole = sum(r["whole"] for r in replies)
            result = {
                "clients": s.s4_clients,
                "dropped": dropped,
                "conversations": groups,
                "missed_each": s.s4_missed,
                "namespaces": namespaces,
                "whole": whole,
                "lost": sum(r["lost"] for r in replies),
                "doubled": sum(r["doubled"] for r in replies),
                "extra": sum(r["extra"] for r in replies),
                "failed": sum(r["failed"] for r in replies),
                "errors": [e for r in replies for e in r["errors"]][:3],
                "seconds_all_whole": (done[-1] - start_at) if whole == s.s4_clients else None,
                "seconds_p50_whole": (done[len(done) // 2] - start_at) if done else None,
                "seconds_p90_whole": (done[int(len(done) * 0.9)] - start_at) if done else None,
                "listen_overflows": procs.listen_overflows() - overflows,
                "seconds_last_whole": (done[-1] - start_at) if done else None,
                "missed_send_seconds": send_s,
                "timeout_s": s.s4_timeout_s,
            }
            self.results["storm"] = {"hub": result}
            self.log(
                f"  storm hub: {whole}/{s.s4_clients} whole, last at "
                f"{_fmt(result['seconds_last_whole'])} s (p50 "
                f"{_fmt(result['seconds_p50_whole'])} s, p90 "
                f"{_fmt(result['seconds_p90_whole'])} s), listen queue overflows "
                f"{result['listen_overflows']}, lost {result['lost']}, doubled "
                f"{result['doubled']}, extra {result['extra']}, failed {result['failed']} "
                f"{result['errors']}"
            )

    # (5) two hub processes + Redis vs one

    def scenario_cluster(self) -> None:
        s = self.sizes
        out: dict[str, Any] = {}
        for label, hubs, with_redis in (
            ("1 hub", 1, False),
            ("1 hub + Redis", 1, True),
            ("2 hubs + Redis", 2, True),
        ):
            servers: list[procs.Server] = []
            redis = None
            pool = None
            self.wait_quiet()
            try:
                settings: dict[str, Any] = dict(self.hub_settings)
                if with_redis:
                    self._runs += 1
                    redis = procs.start_redis(self.workdir / f"{self._runs:02d}-redis")
                    settings["redis_url"] = f"redis://127.0.0.1:{redis.port}/0"
                datadir = self.fresh_datadir(f"cluster-{hubs}")
                for h in range(hubs):  # every hub process shares one SQLite file
                    port = procs.free_port()
                    server = procs._spawn(
                        f"hub{h}",
                        [
                            procs.python(),
                            "-m",
                            "hub",
                            "serve",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                        ],
                        datadir,
                        procs.hub_env(datadir, self.secret, **settings),
                        None,
                        port,
                    )
                    servers.append(server)
                    procs.wait_healthy(server)
                if redis is not None:
                    _wait_subscribers(redis.port, hubs)
                pool = self.pool(None)
                specs, conv, event, kind = self._fanout_clients("hub")
                for h, server in enumerate(servers):
                    self._connect(
                        pool, server.url, [sp for sp in specs if sp[0] % hubs == h], [CONV]
                    )
                watched = servers + ([redis] if redis is not None else [])
                run = self._run_fanout(
                    pool, watched, conv, event, kind, s.s5_measure_s, s.s2_warmup_s
                )
                run["hub_cpu_util"] = [None] * hubs
                out[label] = {**run, "processes": hubs, "redis": with_redis}
                self.log(
                    f"  cluster {label}: {run['deliveries_per_s']:,.0f} deliveries/s, "
                    f"p50 {run['p50_ms']:.1f} ms p99 {run['p99_ms']:.1f} ms, delivered "
                    f"{run['delivered_fraction']:.4f}, servers cpu "
                    f"{run['server_cpu_util']:.0%}, generator cpu "
                    f"{run['generator_cpu_util']:.0%}, other {run['other_cpu_util']:.0%}, "
                    f"errors {run['errors']}"
                )
            finally:
                if pool is not None:
                    pool.close()
                for server in servers:
                    server.stop()
                if redis is not None:
                    redis.stop()
        self.results["cluster"] = out


def idle_user(i: int) -> str:
    """The id of idle account ``i`` (made by ``Bench._add_idle_accounts``)."""
    return f"01BENCHIDLE{i:015d}"


def session_of(user_id: str) -> str:
    """The session id of an idle account (or the probe's)."""
    return f"{user_id}-session"


def _sleep_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        time.sleep(delay)


def _wait_subscribers(port: int, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if procs.redis_numsub(port, "hub:message-new") >= count:
                return
        except OSError:
            pass
        time.sleep(0.05)


def _deflate(offered: bool, negotiated: float | None) -> str:
    if not offered:
        return "not offered"
    return f"offered, accepted on {negotiated or 0:.0%} of the clients"


def _stall_note(run: dict[str, Any]) -> str:
    """What the server saw in the half-rate run: CPU per ack, and for the hub
    its loop lags and append latency."""
    note = f"{run['cpu_us_per_ack']:.0f} us cpu/ack" if run.get("cpu_us_per_ack") else ""
    if "loop_lags_over_25ms" in run:
        note += (
            f", loop lags > 25 ms: {run['loop_lags_over_25ms']:.0f} (worst <= "
            f"{run['loop_lag_worst_bucket_ms']:g} ms), append p99 <= "
            f"{run['append_p99_bucket_ms']:g} ms"
        )
    return note


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
