"""`make bench`: refresh, pages, export and push over a large cache, every other suppression list
(bench/lists.py), the Event Webhook's throughput and freshness, and the alert evaluation
(bench/alerts.py), on SQLite and PostgreSQL, against the sandbox on loopback. Prints the tables.

    python -m bench.run [--subusers 200] [--per-subuser 5000] [--databases sqlite,postgres]
                        [--only all|cache|lists|webhooks|alerts]

The sandbox holds `subusers` x `per-subuser` bounces and as many entries again on the other
lists of the subusers and the parent.

PostgreSQL: BENCH_POSTGRES_URL (a server URL; a fresh database is made on it), or the throwaway
server that `make bench` starts through scripts/test-services.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench"
KEY = "SG.bench-key"
sys.path.insert(0, str(ROOT))


def sandbox_data(subusers: int, per_subuser: int) -> Path:
    """A sandbox data file with the benchmark's lists, generated once and reused: each subuser's
    bounces, and as many entries again spread over the other lists of the subusers and the
    parent (bench/lists.py)."""
    from bench.lists import seed_other_lists
    from bounceadmin.sandbox import SandboxStore, generate_bounces

    path = WORK / f"sandbox-{subusers}x{per_subuser}-lists.sqlite3"
    if path.exists():
        return path
    print(f"generating {subusers} x {per_subuser} bounces into {path.name} …", flush=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    store = SandboxStore(tmp)
    rng = random.Random(2026)
    now = time.time()
    names = [f"bench-{i:03d}" for i in range(subusers)]
    for name in names:
        store.add_subuser(name)
        store.add_bounces(name, generate_bounces(rng, per_subuser, now=now))
    print(f"… and {subusers * per_subuser:,} entries on the other lists", flush=True)
    seed_other_lists(store, names, subusers * per_subuser, now=now)
    store.close()
    tmp.rename(path)
    return path


def start_sandbox(data: Path) -> tuple[subprocess.Popen, str]:
    work = WORK / "sandbox-run.sqlite3"
    shutil.copyfile(data, work)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bounceadmin.sandbox",
            "--port",
            "0",
            "--data",
            str(work),
            "--api-key",
            KEY,
            "--rate-limit",
            "100000000",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    banner = proc.stdout.readline()
    url = banner.split(" on ", 1)[1].split()[0]
    return proc, url


def postgres_url() -> str:
    """The PostgreSQL server to benchmark on: BENCH_POSTGRES_URL, or the one `make bench` started
    (scripts/test-services run sets DATABASE_URL)."""
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("No PostgreSQL: run `make bench`, or set BENCH_POSTGRES_URL.")
    return url


def fresh_postgres_database(server_url: str) -> str:
    import psycopg

    name = "bounceadmin_bench"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def init_data(env: dict[str, str]) -> None:
    """The data folder and its key, as `make run` prepares them first."""
    subprocess.run([sys.executable, "manage.py", "init_data", "-v0"], cwd=ROOT, env=env, check=True)


def run_pass(
    database_url: str, sandbox_url: str, names: list[str], label: str, parts: list[str]
) -> dict:
    data_dir = WORK / label
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "SENDGRID_API_URL": sandbox_url,
        "SENDGRID_API_KEY": KEY,
        "CELERY_BROKER_URL": "filesystem://",
        "LOG_LEVEL": "WARNING",
        "BENCH_SUBUSERS": json.dumps(names),
        "BENCH_PARTS": ",".join(parts),
    }
    init_data(env)
    what = {"cache": "refresh, pages, export, push", "lists": "every other list"}
    print(f"[{label}] {'; '.join(what[p] for p in parts)} …", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.measure"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-5000:])
        raise SystemExit(f"[{label}] failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_latency(
    database_url: str,
    sandbox_url: str,
    names: list[str],
    *,
    workers: int,
    latency_ms: int,
    rate_limit: int,
    rate_window: int,
) -> dict:
    """Full refreshes of `names` split over `workers` processes at a given upstream latency
    and rate limit (`rate_limit` requests per `rate_window` seconds, shared by all).

    SendGrid's X-RateLimit-Reset is whole epoch seconds, so a client can wait up to a second
    past the real end of a window: with one-second windows that alone would halve the rate."""
    requests.post(
        f"{sandbox_url}/_sandbox/config",
        json={"latency_ms": latency_ms, "rate_limit": rate_limit, "rate_window": rate_window},
        timeout=30,
    )
    requests.delete(f"{sandbox_url}/_sandbox/requests", json={}, timeout=30)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(WORK / "sqlite"),
        "SENDGRID_API_URL": sandbox_url,
        "SENDGRID_API_KEY": KEY,
        "LOG_LEVEL": "WARNING",
    }
    init_data(env)
    started = time.perf_counter()
    procs = []
    for i in range(workers):
        mine = names[i::workers]
        args = [arg for name in mine for arg in ("--subuser", name)]
        procs.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "refresh_bounces", "--full", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - started
    log = requests.get(f"{sandbox_url}/_sandbox/requests", timeout=30).json()
    entries = log.get("requests", log) if isinstance(log, dict) else log
    pages = sum(1 for r in entries if r.get("status") == 200)
    throttled = sum(1 for r in entries if r.get("status") == 429)
    requests.post(
        f"{sandbox_url}/_sandbox/config",
        json={"latency_ms": 0, "rate_limit": 100000000, "rate_window": 60},
        timeout=30,
    )
    ideal = max(pages * latency_ms / 1000 / workers, pages / rate_limit * rate_window)
    return {
        "seconds": seconds,
        "pages": pages,
        "429s": throttled,
        "ideal": ideal,
        "ok": all(c == 0 for c in codes),
    }


def table(results: dict[str, dict], latency: dict | None) -> str:
    labels = list(results)
    lines = []

    def row(name, values):
        lines.append(f"| {name} | " + " | ".join(values) + " |")

    lines.append("| measure | " + " | ".join(labels) + " |")
    lines.append("|---|" + "---|" * len(labels))
    r = {k: v["refresh"] for k, v in results.items()}
    row("cached bounces", [f"{r[k]['rows']:,}" for k in labels])
    row("full refresh, empty cache (s)", [f"{r[k]['full_first']:.1f}" for k in labels])
    row("bare minimum, same work (s)", [f"{r[k]['bare_minimum']:.1f}" for k in labels])
    row("ratio full / bare minimum", [f"{r[k]['ratio']:.2f}×" for k in labels])
    row("full refresh, nothing changed (s)", [f"{r[k]['full_unchanged']:.1f}" for k in labels])
    row("incremental refresh (s)", [f"{r[k]['incremental']:.1f}" for k in labels])
    for page in next(iter(results.values()))["pages"]:
        row(
            f"{page}: median / p95 ms (queries)",
            [
                f"{results[k]['pages'][page]['median_ms']:.0f} / "
                f"{results[k]['pages'][page]['p95_ms']:.0f} "
                f"({','.join(map(str, results[k]['pages'][page]['queries']))})"
                for k in labels
            ],
        )
    a = {k: v["api_stream"] for k, v in results.items()}
    row(
        "`/api/v1/bounces/` followed by `next` at 500 a page: rows, s, rows/s",
        [
            f"{a[k]['rows']:,}, {a[k]['seconds']:.1f}, {a[k]['rows_per_second']:,.0f}"
            for k in labels
        ],
    )
    e = {k: v["export"] for k, v in results.items()}
    row("export CSV: rows, s", [f"{e[k]['rows']:,}, {e[k]['seconds']:.1f}" for k in labels])
    row("export CSV: peak RSS (MB)", [f"{e[k]['peak_rss_mb']:.0f}" for k in labels])
    row(
        "plain cursor over the same rows (s)",
        [f"{e[k]['plain_cursor_seconds']:.1f}" for k in labels],
    )
    p = {k: v["push"] for k, v in results.items()}
    row(
        "push: addresses / requests / s",
        [f"{p[k]['addresses']:,} / {p[k]['requests']} / {p[k]['seconds']:.1f}" for k in labels],
    )
    text = "\n".join(lines)
    if latency:
        text += (
            f"\n\nWith latency: {latency['pages']} pages at {latency['latency_ms']} ms over "
            f"{latency['workers']} processes, rate limit {latency['rate_limit']} per "
            f"{latency['rate_window']} s: "
            f"{latency['seconds']:.1f} s (ideal {latency['ideal']:.1f} s), {latency['429s']} 429s."
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subusers", type=int, default=200)
    parser.add_argument("--per-subuser", type=int, default=5000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--latency-subusers", type=int, default=20)
    parser.add_argument(
        "--only", choices=["all", "cache", "lists", "webhooks", "alerts"], default="all",
        help="the cache's benchmarks (refresh, pages, export, push), every other list's (the"
        " bounce refresh with them, their refresh, lookup, /suppressions/), the webhook's, the"
        " alert evaluation's (over a seeded cache of the same size, kept for the next run), or"
        " all",
    )  # fmt: skip
    args = parser.parse_args()
    if args.only in ("all", "alerts"):
        alert_table = alert_benchmarks(args.databases, args.subusers, args.per_subuser)
        if args.only == "alerts":
            print(alert_table)
            return
    if args.only in ("all", "webhooks"):
        webhook_tables = webhook_benchmarks(args.databases)
        if args.only == "webhooks":
            print(webhook_tables)
            return
    WORK.mkdir(parents=True, exist_ok=True)
    data = sandbox_data(args.subusers, args.per_subuser)
    names = [f"bench-{i:03d}" for i in range(args.subusers)]
    proc, url = start_sandbox(data)
    results: dict[str, dict] = {}
    latency = None
    parts = ["cache", "lists"] if args.only == "all" else [args.only]
    try:
        for label in args.databases.split(","):
            if label == "sqlite":
                db = WORK / "app.sqlite3"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                database_url = f"sqlite:///{db}"
            else:
                database_url = fresh_postgres_database(postgres_url())
            results[label] = run_pass(database_url, url, names, label, parts)
            # Kept after each pass: a later one that fails leaves the earlier figures.
            (WORK / "results.json").write_text(json.dumps({"results": results}))
            if latency is None and "cache" in parts:
                workers, latency_ms, rate_limit, rate_window = 4, 100, 100, 5
                latency = run_latency(
                    database_url,
                    url,
                    names[: args.latency_subusers],
                    workers=workers,
                    latency_ms=latency_ms,
                    rate_limit=rate_limit,
                    rate_window=rate_window,
                )
                latency.update(
                    workers=workers,
                    latency_ms=latency_ms,
                    rate_limit=rate_limit,
                    rate_window=rate_window,
                )
    finally:
        proc.terminate()
    (WORK / "results.json").write_text(json.dumps({"results": results, "latency": latency}))
    if "cache" in parts:
        print()
        print(table(results, latency))
    if "lists" in parts:
        from bench import lists

        print()
        print(lists.table(results))
    if args.only == "all":
        print()
        print(webhook_tables)
        print()
        print(alert_table)


def alert_benchmarks(databases: str, subusers: int, per_subuser: int) -> str:
    """The alert evaluation over a cache of the same size (bench/alerts.py)."""
    from bench import alerts

    labels = databases.split(",")
    return alerts.table(
        {label: alerts.spawn_pass(label, subusers, per_subuser, runs=5) for label in labels}
    )


def webhook_benchmarks(databases: str) -> str:
    """The Event Webhook's throughput (bench/webhooks.py) and freshness (bench/freshness.py)."""
    from bench import freshness, webhooks

    labels = databases.split(",")
    throughput = {label: webhooks.spawn_pass(label, 100_000, 1000) for label in labels}
    fresh = {label: freshness.spawn_pass(label, 40) for label in labels}
    return webhooks.table(throughput) + "\n\n" + freshness.table(fresh)


if __name__ == "__main__":
    main()
