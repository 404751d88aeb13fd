"""The results table: figure, hub, bare python-socketio, Node socket.io, ratios, target, met."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from .procs import BENCH, python

KB = 1000  # targets are in decimal units: 40 KB = 40,000 bytes, 1 GB = 10^9 bytes
MB = 1000 * 1000


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        info["cpu_model"] = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        info["cpu_model"] = platform.processor() or "unknown"
    try:
        kib = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        info["ram_gib"] = round(kib / 2**20, 1)
    except (OSError, StopIteration):
        pass
    info["python"] = subprocess.run(
        [python(), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    node = shutil.which("node")
    info["node"] = (
        subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
        if node
        else None
    )
    versions = {}
    for package in ("aiohttp", "python-socketio", "python-engineio", "uvloop", "orjson"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        versions["socket.io (node)"] = json.loads(
            (BENCH / "node_modules" / "socket.io" / "package.json").read_text()
        )["version"]
    except OSError:
        versions["socket.io (node)"] = None
    info["versions"] = versions
    return info


def _ratio(a: Any, b: Any) -> float | None:
    numbers = (int, float)
    if not isinstance(a, numbers) or not isinstance(b, numbers) or isinstance(a, bool) or b == 0:
        return None
    return a / b


def clients(deflate: bool) -> str:
    """How the load generator's clients open their WebSockets."""
    if deflate:
        return (
            "offer permessage-deflate as Chromium does "
            "(`permessage-deflate; client_max_window_bits`)"
        )
    return "do not offer permessage-deflate (--no-deflate)"


def _deflate_row(row: Any, scenario: str, accepted: list[str | None]) -> None:
    """The row saying which servers accepted deflate (none for runs before it was recorded)."""
    if any(a is not None for a in accepted):
        row(f"{scenario} permessage-deflate accepted (clients offer it)", "", *accepted)


def _accepted(run: dict[str, Any] | None) -> str | None:
    """Whether a server accepted the deflate its clients offered."""
    if not run or run.get("deflate_negotiated") is None:
        return None
    if not run.get("deflate_offered"):
        return "not offered"
    share = run["deflate_negotiated"]
    return "yes" if share == 1 else ("no" if share == 0 else f"{share:.0%}")


def _get(data: dict[str, Any], *path: Any) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def row(
        figure: str,
        unit: str,
        hub: Any,
        bare: Any = None,
        node: Any = None,
        target: str = "",
        met: bool | None = None,
        lower_is_better: bool = False,
    ) -> None:
        out.append(
            {
                "figure": figure,
                "unit": unit,
                "hub": hub,
                "bare": bare,
                "node": node,
                "ratio_hub_bare": _ratio(hub, bare),
                "ratio_hub_node": _ratio(hub, node),
                "target": target,
                "met": met,
                "lower_is_better": lower_is_better,
            }
        )

    sends = results.get("sends")
    if sends:
        h, b, n = (sends.get(k, {}) for k in ("hub", "bare", "node"))
        senders = _get(h, "senders") or _get(b, "senders")
        rate = [_get(x, "max", "rate") for x in (h, b, n)]
        ratio = _ratio(rate[0], rate[1])
        row(
            f"(1) acked sends/s, {senders} senders (hub: durable message:send; refs: ack-echo)",
            "/s",
            *rate,
            target=">= 0.6 x bare",
            met=None if ratio is None else ratio >= 0.6,
        )
        row(
            "(1) ack p50 at max rate",
            "ms",
            *[_get(x, "max", "p50_ms") for x in (h, b, n)],
            lower_is_better=True,
        )
        row(
            "(1) ack p99 at max rate",
            "ms",
            *[_get(x, "max", "p99_ms") for x in (h, b, n)],
            lower_is_better=True,
        )
        row(
            "(1) ack p50 at half of each server's max rate",
            "ms",
            *[_get(x, "half", "p50_ms") for x in (h, b, n)],
            lower_is_better=True,
        )
        p99 = [_get(x, "half", "p99_ms") for x in (h, b, n)]
        row(
            "(1) ack p99 at half of each server's max rate",
            "ms",
            *p99,
            target="hub < 25 ms",
            met=None if p99[0] is None else p99[0] < 25,
            lower_is_better=True,
        )
        row(
            "(1) server CPU per ack at half rate",
            "us",
            *[_get(x, "half", "cpu_us_per_ack") for x in (h, b, n)],
            lower_is_better=True,
        )
        lags = _get(h, "half", "loop_lags_over_25ms")
        if lags is not None:
            row(
                "(1) hub event-loop lags > 25 ms at half rate (worst bucket, ms)",
                "",
                f"{lags:.0f} (<= {_get(h, 'half', 'loop_lag_worst_bucket_ms'):g})",
            )
            row(
                "(1) hub messages.append p99 at half rate (histogram bucket)",
                "ms",
                _get(h, "half", "append_p99_bucket_ms"),
                lower_is_better=True,
            )

    fanout = results.get("fanout")
    if fanout:
        h, b, n = (fanout.get(k, {}) for k in ("hub", "bare", "node"))
        members = _get(h, "members") or _get(b, "members")
        rate = [_get(x, "deliveries_per_s") for x in (h, b, n)]
        ratio = _ratio(rate[0], rate[1])
        row(
            f"(2) fan-out deliveries/s, {members}-member conversation / room",
            "/s",
            *rate,
            target=">= 1.5 x bare",
            met=None if ratio is None else ratio >= 1.5,
        )
        _deflate_row(row, "(2)", [_accepted(x) for x in (h, b, n)])
        row("(2) delivery p50", "ms", *[_get(x, "p50_ms") for x in (h, b, n)], lower_is_better=True)
        row("(2) delivery p99", "ms", *[_get(x, "p99_ms") for x in (h, b, n)], lower_is_better=True)
        cpu = [_get(x, "cpu_s_per_100k") for x in (h, b, n)]
        ratio = _ratio(cpu[0], cpu[2])
        row(
            "(2) server CPU seconds per 100k deliveries",
            "s",
            *cpu,
            target="<= 2 x node",
            met=None if ratio is None else ratio <= 2,
            lower_is_better=True,
        )

    idle = results.get("idle")
    if idle:
        namespaces = _get(idle, "hub", "namespaces") or []
        counts: list[int] = []
        for kind in ("hub", "bare", "node"):
            for point in _get(idle, kind, "points") or []:
                if point["clients"] not in counts:
                    counts.append(point["clients"])

        def point(kind: str, count: int) -> dict[str, Any] | None:
            return next(
                (
                    p
                    for p in _get(idle, kind, "points") or []
                    if p["clients"] == count and "rss_bytes" in p
                ),
                None,
            )

        for count in counts:
            per = [
                (p["per_client_bytes"] / KB if (p := point(k, count)) else None)
                for k in ("hub", "bare", "node")
            ]
            row(
                f"(3) RSS per idle client at {count:,} clients x {len(namespaces)} namespaces",
                "KB",
                *per,
                target="hub <= 40 KB",
                met=None if per[0] is None else per[0] <= 40,
                lower_is_better=True,
            )
        if counts:
            top = max(counts)
            _deflate_row(
                row,
                "(3)",
                [
                    _accepted({**p, "deflate_offered": _get(idle, k, "deflate_offered")})
                    if (p := point(k, top))
                    else None
                    for k in ("hub", "bare", "node")
                ],
            )
            rate = [
                (p["connects_per_s"] if (p := point(k, top)) else None)
                for k in ("hub", "bare", "node")
            ]
            row(
                f"(3) connect rate, authenticated clients x {len(namespaces)} namespaces",
                "/s",
                *rate,
            )
            rss = [
                (p["rss_bytes"] / MB if (p := point(k, top)) else None)
                for k in ("hub", "bare", "node")
            ]
            capped = next(
                (
                    p["capped_from"]
                    for k in ("hub", "bare", "node")
                    if (p := point(k, top)) and p.get("capped_from")
                ),
                None,
            )
            if capped:
                # The fd limit stopped short of the target count: measured RSS at
                # ``top``, then the same per-client cost carried on to ``capped``.
                row(
                    f"(3) server RSS with {top:,} idle clients (fd limit)",
                    "MB",
                    *rss,
                    lower_is_better=True,
                )
                est = [
                    (p["base_bytes"] + p["per_client_bytes"] * capped) / MB
                    if (p := point(k, top))
                    else None
                    for k in ("hub", "bare", "node")
                ]
                row(
                    f"(3) server RSS with {capped:,} idle clients, extrapolated from {top:,}",
                    "MB",
                    *est,
                    target="hub < 1000 MB",
                    met=None if est[0] is None else est[0] < 1000,
                    lower_is_better=True,
                )
            else:
                target = "hub < 1000 MB" if top >= 20_000 else "(20k: < 1000 MB)"
                row(
                    f"(3) server RSS with {top:,} idle clients",
                    "MB",
                    *rss,
                    target=target,
                    met=(None if rss[0] is None or top < 20_000 else rss[0] < 1000),
                    lower_is_better=True,
                )

    storm = _get(results, "storm", "hub")
    if storm:
        seconds = storm.get("seconds_all_whole")
        shown: Any = seconds
        if seconds is None:  # some never became whole before the timeout
            shown = (
                f"> {storm.get('timeout_s', 60):.0f} ({storm['whole']:,} whole by "
                f"{storm.get('seconds_last_whole') or 0:.1f} s)"
            )
        row(
            f"(4) reconnect storm: s until all {storm['clients']:,} clients whole "
            f"({storm['missed_each']} missed each)",
            "s",
            shown,
            target="< 10 s",
            met=seconds is not None and seconds < 10,
            lower_is_better=True,
        )
        row(
            "(4) reconnect storm: s until half / 90% of the clients whole",
            "s",
            f"{storm.get('seconds_p50_whole') or 0:.1f} / "
            f"{storm.get('seconds_p90_whole') or 0:.1f}",
        )
        bad = storm["lost"] + storm["doubled"] + storm["extra"]
        row(
            "(4) messages lost / doubled (clients that never reconnected)",
            "",
            f"{storm['lost']} / {storm['doubled'] + storm['extra']} ({storm['failed']})",
            target="0 / 0",
            met=bad == 0,
        )

    cluster = results.get("cluster")
    if cluster:
        one = _get(cluster, "1 hub", "deliveries_per_s")
        one_redis = _get(cluster, "1 hub + Redis", "deliveries_per_s")
        two = _get(cluster, "2 hubs + Redis", "deliveries_per_s")
        row("(5) fan-out deliveries/s, 1 hub process (unpinned)", "/s", one)
        row("(5) fan-out deliveries/s, 1 hub process + Redis (unpinned)", "/s", one_redis)
        row("(5) fan-out deliveries/s, 2 hub processes + Redis (unpinned)", "/s", two)
        ratio = _ratio(two, one)
        row(
            "(5) scale-out: 2 hubs + Redis / 1 hub",
            "x",
            ratio,
            target=">= 1.7",
            met=None if ratio is None else ratio >= 1.7,
        )
    return out


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if unit == "/s" or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _met(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "NO")


HEADER = [
    "figure",
    "unit",
    "hub",
    "bare python-socketio",
    "Node socket.io",
    "hub/bare",
    "hub/node",
    "target",
    "met?",
]


def table_cells(table: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            r["figure"],
            r["unit"],
            _fmt(r["hub"], r["unit"]),
            _fmt(r["bare"], r["unit"]),
            _fmt(r["node"], r["unit"]),
            _fmt_ratio(r["ratio_hub_bare"]),
            _fmt_ratio(r["ratio_hub_node"]),
            r["target"],
            _met(r["met"]),
        ]
        for r in table
    ]


def text_table(table: list[dict[str, Any]]) -> str:
    cells = [HEADER, *table_cells(table)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 or i == 7 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=False))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(table: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] + ["---:"] * 6 + ["---", ":---:"]) + "|",
    ]
    for row in table_cells(table):
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    return "\n".join(lines)


GENERATOR_BOUND = 0.85  # generator CPU (cores) above which a figure is a lower bound


def notes(results: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    """What a reader must know to trust (or not) the table of this run."""
    out: list[str] = []
    bound = []
    for scenario, runs in (
        ("(1) max rate", {k: _get(results, "sends", k, "max") for k in ("hub", "bare", "node")}),
        ("(1) half rate", {k: _get(results, "sends", k, "half") for k in ("hub", "bare", "node")}),
        ("(2)", results.get("fanout") or {}),
        ("(5)", results.get("cluster") or {}),
    ):
        for kind, run in runs.items():
            util = _get(run, "generator_cpu_util")
            if util is not None and util >= GENERATOR_BOUND:
                bound.append(f"{scenario} {kind} ({util:.0%})")
    if bound:
        out.append(
            "The load generator used most of its core in "
            + ", ".join(bound)
            + ": those servers may have more headroom than shown (lower bounds)."
        )
    other = meta.get("other_load") or {}
    if other.get("median_cores") is not None and other["median_cores"] > 0.2:
        out.append(
            f"Other processes kept the machine busy during the measurement windows "
            f"(median {other['median_cores']:.2f} cores, max {other['max_cores']:.2f}, "
            f"after waiting {other['waited_for_quiet_s']} s for quiet): the figures "
            f"are noisier and lower than on an idle machine."
        )
    for kind in ("hub", "bare", "node"):
        for point in _get(results, "idle", kind, "points") or []:
            if point.get("capped_from"):
                out.append(
                    f"(3) {point['capped_from']:,} clients did not fit: one process may "
                    f"hold at most RLIMIT_NOFILE descriptors (here "
                    f"{resource.getrlimit(resource.RLIMIT_NOFILE)[1]:,}, a hard limit that needs "
                    f"CAP_SYS_RESOURCE to raise), so the top point is "
                    f"{point['clients']:,} clients and 20k is extrapolated with the "
                    f"measured per-client cost."
                )
                break
        else:
            continue
        break
    storm = _get(results, "storm", "hub")
    if storm and (storm.get("failed") or storm.get("listen_overflows")):
        failed = (
            f"{storm['failed']} of {storm['clients']:,} clients could not reconnect "
            f"within the {storm.get('timeout_s', 60):.0f} s timeout; "
            if storm.get("failed")
            else ""
        )
        out.append(
            f"(4) {failed}during the storm the kernel counted "
            f"{storm.get('listen_overflows', 0):,} listen-queue overflows (connects "
            f"dropped at a full accept queue and retried by TCP after 1, 3, 7, 15, "
            f"31 s), which is what makes the tail: half the clients were whole after "
            f"{storm.get('seconds_p50_whole') or 0:.1f} s, 90% after "
            f"{storm.get('seconds_p90_whole') or 0:.1f} s."
        )
    return out


def _settings(settings: dict[str, str] | None) -> str:
    if not settings:
        return "the bench defaults"
    return ", ".join(f"`HUB_{k.upper()}={v}`" for k, v in settings.items())


START = "<!-- bench:latest:start -->"
END = "<!-- bench:latest:end -->"


def update_docs(path: Path, table: list[dict[str, Any]], meta: dict[str, Any]) -> bool:
    """Replace the generated block of docs/benchmarks.md (between the markers)."""
    if not path.exists():
        return False
    text = path.read_text()
    if START not in text or END not in text:
        return False
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    block = "\n".join(
        [
            START,
            f"Run of {meta['finished_at']} (`{meta['command']}`, {meta['duration_s']:.0f} s), "
            f"on {m['nproc']} cores ({m['cpu_model']}), {m.get('ram_gib', '?')} GiB RAM, "
            f"Python {m['python']}, Node {m['node']}; {versions}. "
            f"Placement: {meta['placement']}. "
            f"Clients {clients(meta.get('clients_offer_deflate', False))}; "
            f"hub settings: {_settings(meta.get('hub_settings'))}.",
            "",
            markdown_table(table),
            "",
            *[f"- {n}" for n in meta.get("notes", [])],
            END,
        ]
    )
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    path.write_text(text)
    return True


if __name__ == "__main__":
    # Re-render latest.json's table and the docs block from its details, e.g.
    # after a change to the rows: python -m bench.report
    from .procs import ROOT

    latest = BENCH / "results" / "latest.json"
    document = json.loads(latest.read_text())
    document["table"] = rows(document["details"])
    document["meta"]["notes"] = notes(document["details"], document["meta"])
    latest.write_text(json.dumps(document, indent=2, default=str))
    update_docs(ROOT / "docs" / "benchmarks.md", document["table"], document["meta"])
    print(text_table(document["table"]))
