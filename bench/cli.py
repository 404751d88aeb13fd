"""``python -m bench``: run the suite, print the table, write bench/results/."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from . import report
from .procs import BENCH, ROOT
from .scenarios import FULL, QUICK, Bench, Sizes
from .workers import raise_fd_limit

SCENARIOS = ["sends", "fanout", "idle", "storm", "cluster"]
DESCRIPTIONS = {
    "sends": "(1) durable acked message:send vs ack-echo; p99 at half the max rate",
    "fanout": "(2) message:new fan-out in a 200-member conversation vs room broadcast",
    "idle": "(3) idle authenticated clients on every namespace: RSS per client",
    "storm": "(4) reconnect storm: 2,000 clients miss 50 messages, reconnect and sync",
    "cluster": "(5) two hub processes + Redis vs one, on the fan-out workload",
}
RESULTS = BENCH / "results"
DOCS = ROOT / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the hub against bare python-socketio "
        "and Node socket.io. Scenarios: " + "; ".join(f"{k}: {v}" for k, v in DESCRIPTIONS.items()),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and short windows (a smoke run, under 90 s)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        metavar="NAME",
        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--workers", type=int, help="load-generator processes (default 4, quick 2)")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin servers to CPU 0 and the generator to CPU 1",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the hub during the max-rate runs of sends and fanout and "
        "while idle clients connect (bench/results/profile-*.svg and .txt); "
        "figures of a profiled run are not written to latest.json",
    )
    parser.add_argument(
        "--servers",
        default="hub,bare,node",
        help="servers measured by scenarios 1-3, comma-separated (default "
        "hub,bare,node); a run with fewer does not update latest.json",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, DBs)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        metavar="S",
        help="seconds in all the run may spend waiting, before server runs, for "
        "other processes to leave the machine quiet (default 30, quick 0)",
    )
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="clients do not offer permessage-deflate (by default they offer it "
        "as Chromium does, and every server decides whether to accept)",
    )
    parser.add_argument(
        "--hub-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a hub setting for every hub run, e.g. ws_compression=on for "
        "HUB_WS_COMPRESSION=on (repeatable)",
    )
    args = parser.parse_args(argv)
    hub_settings = {}
    for item in args.hub_setting:
        name, equals, value = item.partition("=")
        if not equals or not name:
            parser.error(f"--hub-setting wants NAME=VALUE, not {item!r}")
        hub_settings[name.strip().lower().removeprefix("hub_")] = value

    sizes: Sizes = QUICK if args.quick else FULL
    if args.workers:
        sizes = Sizes(**{**sizes.__dict__, "workers": args.workers})
    scenarios = args.scenario or SCENARIOS
    kinds = tuple(k for k in ("hub", "bare", "node") if k in args.servers.split(","))
    full_run = (
        not args.quick
        and not args.scenario
        and not args.profile
        and kinds == ("hub", "bare", "node")
        and not args.no_deflate
        and not hub_settings
    )
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    fd_limit = raise_fd_limit()
    if (BENCH / "node_modules" / "socket.io").exists() is False:
        print(
            "bench: bench/node_modules/socket.io is missing: run bench/run (or `npm ci` in bench/)",
            file=sys.stderr,
        )
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    bench = Bench(
        sizes,
        workdir,
        pin=pin,
        log=_log,
        profile_dir=RESULTS if args.profile else None,
        kinds=kinds,
        quiet_budget_s=args.quiet_wait
        if args.quiet_wait is not None
        else (0.0 if args.quick else 30.0),
        deflate=not args.no_deflate,
        hub_settings=hub_settings,
    )
    started = time.time()
    command = "python -m bench" + ("".join(f" {a}" for a in (argv or sys.argv[1:])))
    _log(
        f"bench: {', '.join(scenarios)}{' (quick)' if args.quick else ''}; "
        f"{sizes.workers} generator processes; "
        f"{'servers on CPU 0, generator on CPU 1' if pin else 'no CPU pinning'}; "
        f"clients {report.clients(not args.no_deflate)}; "
        f"hub settings {hub_settings or 'default'}; "
        f"fd limit {fd_limit}; work dir {workdir}"
    )
    failures: dict[str, str] = {}
    try:
        bench.setup(scenarios)
        for name in scenarios:
            _log(f"{DESCRIPTIONS[name]}")
            began = time.perf_counter()
            try:
                getattr(bench, f"scenario_{name}")()
            except Exception as exc:  # one broken scenario must not hide the others
                import traceback

                failures[name] = f"{type(exc).__name__}: {exc}"
                _log(f"  {name} FAILED: {traceback.format_exc()}")
            _log(f"  ({time.perf_counter() - began:.0f} s)")
    finally:
        if args.keep:
            _log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    duration = time.time() - started
    table = report.rows(bench.results)
    meta = {
        "command": command.strip(),
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": duration,
        "quick": args.quick,
        "scenarios": scenarios,
        "placement": (
            "servers pinned to CPU 0, load generator pinned to CPU 1 (scenario 5 unpinned)"
            if pin
            else "no CPU pinning"
        ),
        "generator_processes": sizes.workers,
        "clients_offer_deflate": not args.no_deflate,
        "hub_settings": hub_settings,
        "sizes": sizes.__dict__,
        "other_load": _other_load(bench.other_cpu, bench.quiet_waited_s),
        "machine": report.machine(),
        "failures": failures,
    }
    print()
    print(report.text_table(table))
    notes = report.notes(bench.results, meta)
    if notes:
        print("\n" + "\n".join(f"* {n}" for n in notes))
    meta["notes"] = notes
    print(f"\ntotal {duration:.0f} s")
    document = {"meta": meta, "table": table, "details": bench.results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    kind = (
        "quick"
        if args.quick
        else ("profile" if args.profile else ("full" if full_run else "partial"))
    )
    copy = RESULTS / f"{kind}-{stamp}.json"
    copy.write_text(json.dumps(document, indent=2, default=str))
    written = [copy]
    if full_run:
        latest = RESULTS / "latest.json"
        latest.write_text(json.dumps(document, indent=2, default=str))
        written.append(latest)
        if report.update_docs(DOCS, table, meta):
            written.append(DOCS)
    if args.profile:
        from .profile_summary import summarize

        for stem in ("profile-sends-hub", "profile-fanout-hub", "profile-connect-hub"):
            path = RESULTS / f"{stem}.txt"
            if path.exists():
                print(f"\n{stem}:\n{summarize(path)}")
    print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
    if failures:
        print(f"failed scenarios: {failures}", file=sys.stderr)
        return 1
    return 0


def _other_load(samples: list[float], waited: float) -> dict[str, float | int | None]:
    """CPU (in cores) used by everything but the servers and the generator
    during the measurement windows: the noise of this run."""
    ordered = sorted(samples)
    return {
        "windows": len(ordered),
        "median_cores": ordered[len(ordered) // 2] if ordered else None,
        "max_cores": ordered[-1] if ordered else None,
        "waited_for_quiet_s": round(waited, 1),
    }


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)
