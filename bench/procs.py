"""Server processes under test: the hub, the two reference servers, redis-server.

Each is a child process on a free loopback port, optionally pinned to CPUs
(``sched_setaffinity`` before exec, so every thread it starts is pinned too),
stopped with SIGTERM then SIGKILL. CPU time and RSS come from /proc.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
START_TIMEOUT_S = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def python() -> str:
    return str(PYTHON if PYTHON.exists() else Path(sys.executable))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def listen_overflows() -> int:
    """TcpExt ListenOverflows (machine-wide): connects dropped because a
    listening socket's accept queue (its backlog) was full."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return 0
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        if header.startswith("TcpExt:"):
            table = dict(zip(header.split()[1:], values.split()[1:], strict=False))
            return int(table.get("ListenOverflows", 0))
    return 0


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Server:
    def __init__(self, name: str, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.name = name
        self.process = process
        self.port = port
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def output(self, tail: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the bench process dies, so an
    interrupted run leaves no server behind."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _spawn(
    name: str,
    argv: list[str],
    workdir: Path,
    env: dict[str, str] | None,
    cpus: list[int] | None,
    port: int,
) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"

    def pin() -> None:
        _die_with_parent()
        if cpus:
            os.sched_setaffinity(0, set(cpus))

    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdout=sink,
            stderr=sink,
            stdin=subprocess.DEVNULL,
            preexec_fn=pin,
        )
    return Server(name, process, port, log)


def wait_healthy(server: Server, path: str = "/healthz") -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            with urllib.request.urlopen(server.url + path, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{server.name} not healthy after {START_TIMEOUT_S} s:\n{server.output()}")


def hub_env(datadir: Path, jwt_secret: str, **settings: object) -> dict[str, str]:
    """This machine's environment minus any HUB_*, plus the bench settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_DATABASE_URL": f"sqlite:///{datadir}/hub.db",
            "HUB_DATA_DIR": str(datadir / "data"),
            "HUB_PASSWORD_HASH_MEMORY_KIB": "1024",
            "HUB_PASSWORD_HASH_TIME_COST": "1",
            "HUB_ENV": "development",
            "HUB_JWT_SECRET": jwt_secret,
            "HUB_RATE_LIMITS": "off",
            "HUB_ACCESS_TOKEN_TTL_S": "7200",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update({f"HUB_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def histogram(url: str, name: str, **labels: str) -> dict[float, float]:
    """One histogram of a hub's ``/metrics``: cumulative count by upper bound."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != name + "_bucket":
                continue
            bound = sample.labels.get("le", "")
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                buckets[float(bound)] = sample.value
    return buckets


def start_hub(
    name: str, datadir: Path, jwt_secret: str, cpus: list[int] | None = None, **settings: object
) -> Server:
    port = free_port()
    server = _spawn(
        name,
        [python(), "-m", "hub", "serve", "--host", "127.0.0.1", "--port", str(port)],
        datadir,
        hub_env(datadir, jwt_secret, **settings),
        cpus,
        port,
    )
    wait_healthy(server)
    return server


def start_bare(workdir: Path, namespaces: list[str], cpus: list[int] | None = None) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    server = _spawn(
        "bare",
        [python(), str(BENCH / "servers" / "bare_socketio.py"), str(port), *namespaces],
        workdir,
        env,
        cpus,
        port,
    )
    wait_healthy(server)
    return server


def start_node(workdir: Path, namespaces: list[str], cpus: list[int] | None = None) -> Server:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    port = free_port()
    env = {**os.environ, "NODE_PATH": str(BENCH / "node_modules")}
    server = _spawn(
        "node",
        [node, str(BENCH / "servers" / "node_server.js"), str(port), *namespaces],
        workdir,
        env,
        cpus,
        port,
    )
    wait_healthy(server)
    return server


def start_redis(workdir: Path) -> Server:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    server = _spawn(
        "redis",
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        workdir,
        None,
        None,
        port,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("redis-server did not answer PING within 10 s")


def redis_numsub(port: int, channel: str) -> int:
    """PUBSUB NUMSUB over a raw socket (RESP)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        ch = channel.encode()
        sock.sendall(b"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n$%d\r\n%s\r\n" % (len(ch), ch))
        reply = sock.recv(4096).split(b"\r\n")
    # *2 $len channel :count
    for part in reply:
        if part.startswith(b":"):
            return int(part[1:])
    return 0


def py_spy(pid: int, stem: Path, duration_s: float) -> list[subprocess.Popen[bytes]]:
    """Sample ``pid`` with py-spy for ``duration_s``: a flame graph (``stem.svg``)
    and collapsed stacks (``stem.txt``) for the top-costs summary. Only samples
    holding the GIL count (where the Python CPU time goes); py-spy pauses the
    process for each sample, so the figures of a profiled run are not the
    real ones."""
    spy = ROOT / ".venv" / "bin" / "py-spy"
    binary = str(spy) if spy.exists() else shutil.which("py-spy")
    if binary is None:
        raise RuntimeError("py-spy is not installed (.venv/bin/pip install py-spy)")
    stem.parent.mkdir(parents=True, exist_ok=True)
    duration = str(max(1, int(duration_s)))
    common = ["record", "--pid", str(pid), "--duration", duration, "--rate", "100", "--gil"]
    return [
        subprocess.Popen(
            [binary, *common, "--format", fmt, "-o", str(stem) + ext],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fmt, ext in (("flamegraph", ".svg"), ("raw", ".txt"))
    ]
