"""Load-generator processes.

Each worker is a separate process with its own uvloop event loop and many
``Client`` connections. The parent drives all workers over pipes with small
commands (connect, run a workload until a wall-clock deadline, close) and
gets back counts and raw latency samples (int64 nanoseconds) to aggregate.

Latency:
- acks: ``time.perf_counter_ns()`` at send and at the ack, in one process;
- deliveries to other sockets: the sender puts ``time.time_ns()`` in the
  message text (``T<ns> ...``); the receiver subtracts it from its own
  ``time.time_ns()``. Same machine, same clock.

Every loop is bounded by a wall-clock deadline chosen by the parent.
"""

from __future__ import annotations

import array
import asyncio
import multiprocessing as mp
import multiprocessing.connection
import os
import resource
import time
import traceback
from collections.abc import Callable
from typing import Any

FD_LIMIT = 262_144
CONV = "/conversations"


def raise_fd_limit(target: int = FD_LIMIT) -> int:
    """Raise RLIMIT_NOFILE (soft and, as root, hard); returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in ((max(soft, target), max(hard, target)), (max(soft, min(target, hard)), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, wanted)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# Payloads. "hub" speaks the hub's /conversations contract; "ref" speaks the
# reference servers' echo/broadcast contract with payloads of the same shape.


def stamp_text(pad: str = " bench message") -> str:
    return f"T{time.time_ns()}{pad}"


def send_payload(kind: str, conv: str, client_msg_id: str) -> dict[str, Any]:
    """``message:send`` (hub) or ``echo`` (ref): the same three fields."""
    return {"conversation_id": conv, "client_msg_id": client_msg_id, "text": stamp_text()}


def broadcast_payload(conv: str, client_msg_id: str, sender: str, seq: int) -> dict[str, Any]:
    """``broadcast`` (ref): a message shaped like the hub's ``message:new`` payload."""
    return {
        "room": conv,
        "message": {
            "id": f"01BENCH{seq:019d}",
            "conversation_id": conv,
            "seq": seq,
            "sender_id": sender,
            "client_msg_id": client_msg_id,
            "text": stamp_text(),
            "attachments": [],
            "reply_to": None,
            "created_at": "2026-01-01T00:00:00.000Z",
            "edited_at": None,
            "deleted": False,
        },
    }


def _ack_ok(text: str) -> bool:
    if text.startswith('[{"ok":true'):
        return True
    import orjson

    try:
        first = orjson.loads(text)[0]
    except Exception:
        return False
    return isinstance(first, dict) and first.get("ok") is True


class Worker:
    def __init__(self, conn: mp.connection.Connection, index: int, deflate: bool) -> None:
        self.conn = conn
        self.index = index
        self.deflate = deflate  # clients offer permessage-deflate (as browsers do)
        self.clients: dict[Any, Any] = {}
        self.session: Any = None
        self.mode: str | None = None
        # fan-out recording
        self.window_ns = (0, 0)
        self.fan_count = 0
        self.fan_total = 0
        self.fan_lat = array.array("q")
        self.fan_bad = 0
        # storm tracking: key -> seqs received as live message:new
        self.live: dict[Any, list[int]] = {}

    async def serve(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, enable_cleanup_closed=True),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        loop = asyncio.get_running_loop()
        try:
            while True:
                op, args = await loop.run_in_executor(None, self.conn.recv)
                if op == "stop":
                    break
                try:
                    result = await getattr(self, f"op_{op}")(**args)
                    self.conn.send({"ok": True, "result": result})
                except Exception:
                    self.conn.send({"ok": False, "error": traceback.format_exc()})
        finally:
            await self.op_close_all()
            await self.session.close()
            self.conn.send({"ok": True, "result": "stopped"})

    # Connections

    async def op_connect(
        self,
        url: str,
        specs: list[tuple[Any, str]],
        namespaces: list[str],
        concurrency: int = 64,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Connect one client per ``(key, token)`` to every namespace."""
        from .sio import Client

        semaphore = asyncio.Semaphore(concurrency)
        errors: list[str] = []
        failed = 0
        started = time.perf_counter()

        async def one(key: Any, token: str) -> None:
            nonlocal failed
            client = Client(self.session, url, token, self._on_event, key, self.deflate)
            async with semaphore:
                try:
                    await client.connect(namespaces, timeout)
                except Exception as exc:
                    failed += 1
                    if len(errors) < 3:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    await client.close()
                    return
            self.clients[key] = client

        await asyncio.gather(*(one(key, token) for key, token in specs))
        return {
            "connected": len(specs) - failed,
            "failed": failed,
            "errors": errors,
            "seconds": time.perf_counter() - started,
            "total": len(self.clients),
            "deflate": sum(c.deflate for c in self.clients.values()),
        }

    async def op_probe_namespaces(self, url: str, token: str, candidates: list[str]) -> list[str]:
        """The namespaces among ``candidates`` that accept an authenticated connect."""
        from .sio import Client, ConnectRefused

        present = []
        for namespace in candidates:
            client = Client(self.session, url, token, deflate=self.deflate)
            try:
                await client.connect([namespace], 10)
                present.append(namespace)
            except (TimeoutError, ConnectRefused, ConnectionError):
                pass
            finally:
                await client.close()
        return present

    async def op_close_all(self, concurrency: int = 256, abort: bool = True) -> int:
        """Close every client: dropped (EOF, the default) or with a close handshake."""
        semaphore = asyncio.Semaphore(concurrency)

        async def one(client: Any) -> None:
            async with semaphore:
                await (client.abort() if abort else client.close())

        clients = list(self.clients.values())
        self.clients.clear()
        await asyncio.gather(*(one(c) for c in clients))
        return len(clients)

    async def op_call_each(
        self, namespace: str, event: str, payloads: dict[Any, Any]
    ) -> dict[str, Any]:
        """One acked call per client key; counts the ``ok`` acks."""
        ok, errors = 0, []

        async def one(key: Any, payload: Any) -> None:
            nonlocal ok
            try:
                ack = await self.clients[key].call(namespace, event, payload, 30)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            if isinstance(ack, dict) and ack.get("ok"):
                ok += 1
            elif len(errors) < 3:
                errors.append(repr(ack)[:300])

        await asyncio.gather(*(one(k, p) for k, p in payloads.items()))
        return {"ok": ok, "errors": errors[:3]}

    async def op_close_keys(self, keys: list[Any], abort: bool = True) -> int:
        clients = [self.clients.pop(key) for key in keys if key in self.clients]
        await asyncio.gather(*(c.abort() if abort else c.close() for c in clients))
        return len(clients)

    async def op_send_n(self, senders: list[tuple[Any, str]], n: int, tag: str) -> dict[str, Any]:
        """Each sender sends ``n`` acked ``message:send`` one after another;
        returns the last seq acked per conversation."""
        last: dict[str, int] = {}
        errors: list[str] = []

        async def one(key: Any, conv: str) -> None:
            client = self.clients[key]
            for i in range(n):
                ack = await client.call(
                    CONV,
                    "message:send",
                    {
                        "conversation_id": conv,
                        "client_msg_id": f"{tag}-{key}-{i}",
                        "text": stamp_text(),
                    },
                    30,
                )
                if not ack.get("ok"):
                    errors.append(repr(ack)[:300])
                    return
                last[conv] = max(last.get(conv, 0), ack["data"]["seq"])

        await asyncio.gather(*(one(k, c) for k, c in senders))
        return {"last": last, "errors": errors[:3]}

    async def op_live_count(self) -> int:
        return sum(1 for seqs in self.live.values() if seqs)

    async def op_set_mode(self, mode: str | None) -> None:
        self.mode = mode
        self.live = {}

    def _on_event(self, client: Any, namespace: str, text: str) -> None:
        mode = self.mode
        if mode == "fanout":
            now = time.time_ns()
            self.fan_total += 1
            if self.window_ns[0] <= now < self.window_ns[1]:
                self.fan_count += 1
                start = text.find('"text":"T')
                if start < 0:
                    self.fan_bad += 1
                    return
                start += 9
                self.fan_lat.append(now - int(text[start : start + 19]))
        elif mode == "track":
            if text.startswith('["message:new"'):
                import orjson

                self.live.setdefault(client.tag, []).append(orjson.loads(text)[1]["seq"])

    # Workloads

    async def _until(self, wall: float) -> None:
        delay = wall - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def op_closed_loop(
        self,
        senders: list[tuple[Any, str]],
        namespace: str,
        event: str,
        kind: str,
        window: int,
        start_at: float,
        t0: float,
        t1: float,
        tag: str,
    ) -> dict[str, Any]:
        """Each sender keeps ``window`` acked events in flight until ``t1``;
        acks received in ``[t0, t1)`` are counted and timed."""
        loop = asyncio.get_running_loop()
        latencies = array.array("q")
        state = {"count": 0, "errors": 0, "first_error": None, "sent": 0}
        clock = time.perf_counter_ns

        async def lane(client: Any, conv: str, lane_id: str) -> None:
            n = 0
            while time.time() < t1:
                future: asyncio.Future[str] = loop.create_future()
                if kind == "broadcast":
                    payload = broadcast_payload(conv, f"{tag}-{lane_id}-{n}", lane_id, n)
                else:
                    payload = send_payload(kind, conv, f"{tag}-{lane_id}-{n}")
                started = clock()
                await client.emit(namespace, event, payload, future.set_result)
                state["sent"] += 1
                text = await future
                ended = clock()
                n += 1
                wall = time.time()
                if t0 <= wall < t1:
                    state["count"] += 1
                    latencies.append(ended - started)
                if not _ack_ok(text):
                    state["errors"] += 1
                    if state["first_error"] is None:
                        state["first_error"] = text[:300]

        await self._until(start_at)
        tasks = [
            asyncio.create_task(lane(self.clients[key], conv, f"{self.index}.{i}.{w}"))
            for i, (key, conv) in enumerate(senders)
            for w in range(window)
        ]
        stuck = 0
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, t1 - time.time()) + 15)
            stuck = len(pending)
            for task in pending:
                task.cancel()
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    state["errors"] += 1
                    if state["first_error"] is None:
                        state["first_error"] = repr(task.exception())[:300]
        return {**state, "stuck": stuck, "lat": latencies.tobytes()}

    async def op_open_loop(
        self,
        senders: list[tuple[Any, str]],
        namespace: str,
        event: str,
        kind: str,
        rate: float,
        start_at: float,
        t0: float,
        t1: float,
        tag: str,
    ) -> dict[str, Any]:
        """Send at ``rate`` events/s spread round-robin over the senders, never
        waiting for acks (open loop); acks of sends made in ``[t0, t1)`` are timed."""
        latencies = array.array("q")
        state = {"count": 0, "errors": 0, "first_error": None, "sent": 0, "outstanding": 0}
        clock = time.perf_counter_ns
        drained = asyncio.Event()
        sending = True

        def on_ack(started: int, timed: bool) -> Callable[[str], None]:
            def done(text: str) -> None:
                ended = clock()
                state["outstanding"] -= 1
                if timed:
                    state["count"] += 1
                    latencies.append(ended - started)
                if not _ack_ok(text):
                    state["errors"] += 1
                    if state["first_error"] is None:
                        state["first_error"] = text[:300]
                if not sending and state["outstanding"] == 0:
                    drained.set()

            return done

        clients = [(self.clients[key], conv) for key, conv in senders]
        await self._until(start_at)
        begin = time.perf_counter()
        sent = 0
        while clients:
            wall = time.time()
            if wall >= t1:
                break
            due = int((time.perf_counter() - begin) * rate) - sent
            for _ in range(due):
                client, conv = clients[sent % len(clients)]
                payload = send_payload(kind, conv, f"{tag}-{self.index}-{sent}")
                state["outstanding"] += 1
                await client.emit(
                    namespace, event, payload, on_ack(clock(), t0 <= time.time() < t1)
                )
                sent += 1
            await asyncio.sleep(0.001)
        sending = False
        state["sent"] = sent
        if state["outstanding"] > 0:
            try:
                await asyncio.wait_for(drained.wait(), 15)
            except TimeoutError:
                pass
        return {**state, "lat": latencies.tobytes()}

    async def op_fanout(
        self,
        senders: list[tuple[Any, str]],
        namespace: str,
        event: str,
        kind: str,
        window: int,
        start_at: float,
        t0: float,
        t1: float,
        drain_s: float,
        tag: str,
    ) -> dict[str, Any]:
        """Senders keep ``window`` acked sends in flight until ``t1``; every
        client counts the ``message:new`` it receives in ``[t0, t1)`` and times
        them by the stamp in the text. Returns after ``t1 + drain_s``."""
        senders = [(key, conv) for key, conv in senders if key in self.clients]  # ours only
        self.mode = "fanout"
        self.window_ns = (int(t0 * 1e9), int(t1 * 1e9))
        self.fan_count = self.fan_total = self.fan_bad = 0
        self.fan_lat = array.array("q")
        sent = await self.op_closed_loop(
            senders, namespace, event, kind, window, start_at, t0, t1, tag
        )
        await self._until(t1 + drain_s)
        self.mode = None
        return {
            "deliveries": self.fan_count,
            "total": self.fan_total,
            "bad": self.fan_bad,
            "lat": self.fan_lat.tobytes(),
            "sent": sent["sent"],
            "acks": sent["count"],
            "errors": sent["errors"],
            "first_error": sent["first_error"],
            "stuck": sent["stuck"],
            "ack_lat": sent["lat"],
        }

    # Reconnect storm

    async def op_storm(
        self, url: str, specs: list[tuple[Any, str, str, int, int]], start_at: float, timeout: float
    ) -> dict[str, Any]:
        """At ``start_at`` every ``(key, token, conv, after_seq, last_seq)`` client
        reconnects at once and syncs; a client is whole when it holds exactly
        ``after_seq+1 .. last_seq``."""
        from .sio import Client

        self.mode = "track"
        self.live = {}
        result = {
            "clients": len(specs),
            "whole": 0,
            "lost": 0,
            "doubled": 0,
            "extra": 0,
            "failed": 0,
            "errors": [],
            "done": [],
        }

        async def one(key: Any, token: str, conv: str, after_seq: int, last_seq: int) -> None:
            client = Client(self.session, url, token, self._on_event, key, self.deflate)
            try:
                await client.connect([CONV], timeout)
                self.clients[key] = client
                got: list[int] = []
                cursor = after_seq
                for _ in range(100):  # pages; bounded
                    ack = await client.call(
                        CONV,
                        "sync",
                        {"cursors": [{"conversation_id": conv, "after_seq": cursor}]},
                        timeout,
                    )
                    if not ack.get("ok"):
                        raise RuntimeError(f"sync refused: {ack}")
                    item = ack["data"]["items"][0]
                    seqs = [m["seq"] for m in item["messages"]]
                    got.extend(seqs)
                    if not item["has_more"] or not seqs:
                        break
                    cursor = seqs[-1]
                done = time.time()
            except Exception as exc:
                result["failed"] += 1
                if len(result["errors"]) < 3:
                    result["errors"].append(f"{type(exc).__name__}: {exc}")
                await client.close()
                return
            seen = got + self.live.get(key, [])
            expected = set(range(after_seq + 1, last_seq + 1))
            lost = len(expected - set(seen))
            doubled = len(seen) - len(set(seen))
            extra = len(set(seen) - expected)
            result["lost"] += lost
            result["doubled"] += doubled
            result["extra"] += extra
            if not (lost or doubled or extra):
                result["whole"] += 1
                result["done"].append(done)

        await self._until(start_at)
        await asyncio.gather(*(one(*spec) for spec in specs))
        await asyncio.sleep(0.3)  # late live events would count as doubled
        for seqs in self.live.values():
            # live message:new after the storm repeats what sync returned
            result["doubled"] += len(seqs)
        self.mode = None
        return result


def worker_main(
    conn: mp.connection.Connection, index: int, cpus: list[int] | None, deflate: bool
) -> None:
    if cpus:
        os.sched_setaffinity(0, set(cpus))
    raise_fd_limit()
    import uvloop

    uvloop.run(Worker(conn, index, deflate).serve())


class WorkerPool:
    """N worker processes; ``send`` a command to each, then ``collect`` replies.
    Their clients offer permessage-deflate unless ``deflate`` is False."""

    def __init__(self, count: int, cpus: list[int] | None = None, deflate: bool = True) -> None:
        context = mp.get_context("spawn")
        self.conns: list[mp.connection.Connection] = []
        self.procs: list[mp.process.BaseProcess] = []
        for index in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(child, index, cpus, deflate),
                name=f"bench-worker-{index}",
                daemon=True,
            )
            process.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def __len__(self) -> int:
        return len(self.conns)

    def send(self, op: str, args: list[dict[str, Any]] | dict[str, Any]) -> None:
        per_worker = args if isinstance(args, list) else [args] * len(self.conns)
        for conn, worker_args in zip(self.conns, per_worker, strict=False):
            conn.send((op, worker_args))

    def collect(self, timeout: float = 120.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        replies = []
        for index, conn in enumerate(self.conns):
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"worker {index} gave no answer within {timeout:.0f} s")
            reply = conn.recv()
            if not reply["ok"]:
                raise RuntimeError(f"worker {index} failed:\n{reply['error']}")
            replies.append(reply["result"])
        return replies

    def call(
        self, op: str, args: list[dict[str, Any]] | dict[str, Any], timeout: float = 120.0
    ) -> list[Any]:
        self.send(op, args)
        return self.collect(timeout)

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(("stop", {}))
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + 20
        for conn, process in zip(self.conns, self.procs, strict=False):
            try:
                if conn.poll(max(0.0, deadline - time.monotonic())):
                    conn.recv()
            except (EOFError, OSError):
                pass
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def split(items: list[Any], parts: int) -> list[list[Any]]:
    """Round-robin split into ``parts`` lists."""
    return [items[i::parts] for i in range(parts)]
