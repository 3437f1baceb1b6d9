"""``python -m tests.bench [--quick]``: run every benchmark, print a table, write JSON.

Needs PostgreSQL (TEST_POSTGRES_URL, default postgres@127.0.0.1:5432) and Redis on 6379.
Scratch databases are created and dropped; results go to ``bench-results/<name>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

from tests.bench import bench_ingest, bench_queries, bench_worker
from tests.bench.bench_data import create_organizations
from tests.bench.bench_harness import Server, api_server, export_tree, purge_redis
from tests.services import SERVER_URL, empty_redis_db, fresh_database

RESULTS = Path("bench-results")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict[str, Any]:
    with psycopg.connect(SERVER_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN"
                " ('shared_buffers', 'work_mem', 'max_connections', 'synchronous_commit')"
            ).fetchall()
        )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "postgresql": row[0] if row else None,
        "postgresql_settings": settings,
        "python": platform.python_version(),
        "commit": commit,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def ingest_and_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Migrations run asyncio.run themselves, so databases are set up outside the event loop."""
    with empty_redis_db() as broker, fresh_database("handover_bench") as url:
        create_organizations(url, bench_ingest.HOSPITALS, bench_ingest.OFFICES)
        with api_server(url, broker) as api:
            return asyncio.run(_ingest_and_worker(args, url, broker, api))


async def _ingest_and_worker(
    args: argparse.Namespace, url: str, broker: str, api: Server
) -> dict[str, Any]:
    quick = args.quick
    now = datetime.now(UTC)
    out: dict[str, Any] = {}
    log("1. single events: API vs raw asyncpg")
    single = await bench_ingest.single_events(url, api, [1, 4, 16, 64], 3.0 if quick else 10.0, now)
    keys = single.pop("keys")
    out["single"] = single
    log("2. batches of 1000: API vs COPY, one client then two")
    out["batch"] = await bench_ingest.batches(url, api, keys, 3 if quick else 10, 1, now)
    out["batch_c2"] = await bench_ingest.batches(url, api, keys, 4 if quick else 10, 2, now, "c2")
    out["api_peak_rss_mb_ingest"] = round(api.peak_rss_mb, 1)
    log("1b. single events with two API processes (uvicorn --workers 2)")
    with api_server(url, broker, name="api-2proc", processes=2) as api2:
        two = await bench_ingest.single_events(
            url, api2, [16, 64], 3.0 if quick else 10.0, now, tag="p2"
        )
        two.pop("keys")
        out["single_2proc"] = two
        out["api_2proc_peak_rss_mb"] = round(api2.peak_rss_mb, 1)
    log("3. worker: recompute_episodes over every stale episode, in process")
    out["fold"] = await bench_worker.fold_rate(url, 10**9)
    purge_redis(broker)  # those episodes are folded; their queued messages are moot
    log("3. worker: burst, then stale episodes -> 0")
    out["burst"] = await bench_worker.burst_drain(url, broker, api, keys, 4 if quick else 12, now)
    out["api_peak_rss_mb"] = round(api.peak_rss_mb, 1)
    return out


def queries(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    scales = [s for s in (10_000, 100_000, 1_000_000) if s <= args.max_episodes]
    if args.scales:
        scales = [s for s in args.scales if s <= args.max_episodes]
    with (
        empty_redis_db() as broker,
        fresh_database("handover_bench_big") as url,
        api_server(url, broker, name="api-big") as api,
        ExitStack() as stack,
        tempfile.TemporaryDirectory(prefix="handover-before-") as tmp,
    ):
        before = None
        if args.lists_before:
            source = export_tree(args.lists_before, Path(tmp))
            before = stack.enter_context(api_server(url, broker, name="api-before", source=source))
        result = asyncio.run(
            bench_queries.run(
                url,
                api,
                scales,
                now,
                args.quick,
                log,
                before=before,
                lists_only=args.only == "lists",
            )
        )
        result["api_peak_rss_mb"] = round(api.peak_rss_mb, 1)
        return result


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _single_rows(single: dict[str, Any], label: str) -> list[tuple[str, str, str]]:
    rows = []
    for r in single["closed_loop"]:
        a, w = r["api"], r["raw"]
        rows.append(
            (
                f"POST /v1/events c={r['concurrency']}{label}",
                f"{_fmt(a['ops_per_s'])}/s p50 {a['p50_ms']} p99 {a['p99_ms']} ms;"
                f" raw {_fmt(w['ops_per_s'])}/s p99 {w['p99_ms']} ms; ratio {r['ratio']:.0%}",
                "API >= 40% of raw",
            )
        )
    fr = single["fixed_rate_200"]
    rows.append(
        (
            f"POST /v1/events at 200/s offered{label}",
            f"{_fmt(fr['achieved_per_s'])}/s p50 {fr['p50_ms']} p99 {fr['p99_ms']} ms",
            "p99 < 50 ms",
        )
    )
    return rows


def _before_after_rows(last: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The lists item against the code before a change and after it (``--lists-before``)."""
    rows = []
    for label, runs in last.get("lists_before_after", {}).items():
        for name in ("hospital_pending", "care_office_pending"):
            rows.append(
                (
                    f"{name} @{last['episodes']:,}, {label} the change",
                    "; ".join(f"p50 {r[name]['p50_ms']} p99 {r[name]['p99_ms']} ms,"
                              f" {r[name]['items']} items" for r in runs),
                    "",
                )
            )  # fmt: skip
    return rows


def _query_rows(scales: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Items 4-6 (``--only lists``: item 5 alone, no metrics or rebuild rows)."""
    rows: list[tuple[str, str, str]] = []
    measured = [s for s in scales if "metrics" in s]
    for s in measured:
        m = s["metrics"]
        rows.append(
            (
                f"metrics FY by hospital @{s['episodes']:,}",
                f"p50 {m['metrics_fy_by_hospital']['p50_ms']} ms; naive {m['naive_fy_ms']} ms"
                f" ({m['speedup_fy']}x); June survey p50 {m['survey_june']['p50_ms']} ms"
                f" (naive {m['naive_june_ms']} ms, {m['speedup_june']}x);"
                f" totals match naive: {m['naive_matches_api']}",
                ">= 20x at 1M",
            )
        )
    if len(measured) >= 2:
        a, b = measured[-2]["metrics"], measured[-1]["metrics"]
        growth = b["metrics_fy_by_hospital"]["p50_ms"] / a["metrics_fy_by_hospital"]["p50_ms"]
        rows.append(
            (
                f"flatness {measured[-2]['episodes']:,} -> {measured[-1]['episodes']:,}",
                f"metrics x{growth:.2f}, survey x"
                f"{b['survey_june']['p50_ms'] / a['survey_june']['p50_ms']:.2f}",
                "within 2x",
            )
        )
    last = scales[-1]
    for name in ("hospital_pending", "care_office_pending", "episode_lookup"):
        v = last["lists"][name]
        items = f", {v['items']} items" if "items" in v else ""
        rows.append(
            (f"{name} @{last['episodes']:,}", f"p50 {v['p50_ms']} p99 {v['p99_ms']} ms{items}", "")
        )
    rows += _before_after_rows(last)
    for s in (s for s in scales if "rebuild" in s):
        r = s["rebuild"]
        rows.append(
            (
                f"rebuild_aggregates @{s['episodes']:,}",
                f"{r['seconds']} s ({_fmt(r['episodes_per_s'])} episodes/s,"
                f" {s['events']:,} events, {s['database_mb']:,} MB db)",
                "",
            )
        )
    return rows


def table(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, value, target) rows: targets are stated, never enforced."""
    rows: list[tuple[str, str, str]] = []
    ingest = results.get("ingest")
    if ingest:
        rows.extend(_single_rows(ingest["single"], ""))
        if "single_2proc" in ingest:
            rows.extend(_single_rows(ingest["single_2proc"], ", 2 API processes"))
        for b in (ingest["batch"], ingest.get("batch_c2")):
            if b is None:
                continue
            rows.append(
                (
                    f"POST /v1/events:batch (1000) c={b['concurrency']}",
                    f"{_fmt(b['api_events_per_s'])} events/s; COPY"
                    f" {_fmt(b['copy_events_per_s'])}/s ({b['ratio']:.1%})",
                    ">= 5,000 events/s",
                )
            )
        f = ingest["fold"]
        rows.append(
            (
                "worker fold, 1 process",
                f"{_fmt(f['events_per_s'])} events/s ({_fmt(f['episodes_per_s'])} episodes/s)",
                "",
            )
        )
        u = ingest["burst"]
        rows.append(
            (
                f"burst {u['events']:,} events -> stale 0",
                f"drained {u['drain_after_post_s']} s after posting ({u['post_seconds']} s);"
                f" {u['stale_after_post']:,} stale at end of post",
                "",
            )
        )
        rows.append(
            (
                "RSS under load",
                f"API {ingest['api_peak_rss_mb']} MB, worker {u['worker_peak_rss_mb']} MB",
                "",
            )
        )
    q = results.get("queries")
    if q:
        rows += _query_rows(q["scales"])
    return rows


def print_table(rows: list[tuple[str, str, str]]) -> None:
    width = max((len(r[0]) for r in rows), default=10)
    print()
    for measure, value, target in rows:
        print(f"{measure:<{width}}  {value}" + (f"   [target: {target}]" if target else ""))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, up to 100k stays")
    parser.add_argument(
        "--only",
        choices=["ingest", "queries", "lists"],
        help="run one half of the benchmarks (lists: item 5 alone, at the largest scale)",
    )
    parser.add_argument("--max-episodes", type=int, default=None, help="largest scale (stays)")
    parser.add_argument("--name", default=None, help="result file name (default: bench[-quick])")
    parser.add_argument(
        "--scales", type=int, nargs="+", default=None,
        help="the query benchmarks' scales (default 10k 100k 1M up to --max-episodes)",
    )  # fmt: skip
    parser.add_argument(
        "--lists-before", metavar="REF", default=None,
        help="also time the lists item (5) against the code at git REF, in the same run",
    )  # fmt: skip
    args = parser.parse_args()
    if args.max_episodes is None:
        args.max_episodes = 100_000 if args.quick else 1_000_000
    name = args.name or ("bench-quick" if args.quick else "bench")
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    if args.only in (None, "ingest"):
        results["ingest"] = ingest_and_worker(args)
    if args.only in (None, "queries", "lists"):
        results["queries"] = queries(args)
    rows = table(results)
    results["table"] = [list(r) for r in rows]
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print_table(rows)
    print(f"\nwritten {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
