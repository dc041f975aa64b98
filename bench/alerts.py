"""The alert evaluation over a large cache: every default rule (one per kind) evaluated over
`subusers` x `per-subuser` cached bounces, created over 180 days and denser lately as the
sandbox generates them, with a spike at a few subusers; each subuser also has a receiving
webhook and a few refresh runs. Times whole evaluation runs (the first opens the alerts, the
next find them still open) and each rule alone, and counts the queries.

    python -m bench.alerts [--subusers 200] [--per-subuser 5000] [--databases sqlite,postgres]
                           [--runs 5]

Two cases: at the end of the generated history (the newest days much denser than the days
before: every subuser looks like a spike, hundreds of alerts open at once) and 90 days back,
where the history is nearly even day to day (a steady account's hour, the usual evaluation).

The seeded cache is kept and reused by the next run with the same size: on SQLite the database
file under data/bench/alerts/, on PostgreSQL the database `bounceadmin_bench_alerts_<size>`
on the server of bench/run.py. Each pass runs in a child process of its own (`--pass LABEL`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench" / "alerts"
sys.path.insert(0, str(ROOT))

SPIKED = 5  # subusers given a spike (Reputation bounces at one domain, the sender's fault)
SPIKE = 300
STEADY_DAYS_BACK = 90


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subusers", type=int, default=200)
    parser.add_argument("--per-subuser", type=int, default=5000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pass", dest="label", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.label:
        print(json.dumps(run_pass(args.subusers, args.per_subuser, args.runs)))
        return
    results = {
        label: spawn_pass(label, args.subusers, args.per_subuser, args.runs)
        for label in args.databases.split(",")
    }
    print()
    print(table(results))


def spawn_pass(label: str, subusers: int, per_subuser: int, runs: int) -> dict:
    from bench.run import init_data

    env = pass_env(label, f"{subusers}x{per_subuser}")
    init_data(env)
    print(f"[{label}] alert evaluation over {subusers * per_subuser:,} bounces …", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.alerts", "--pass", label, "--subusers", str(subusers),
         "--per-subuser", str(per_subuser), "--runs", str(runs)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-5000:])
        raise SystemExit(f"[{label}] alert pass failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pass_env(label: str, size: str) -> dict[str, str]:
    """The pass's environment: a database kept between runs of the same size (its seeded
    cache is reused), a data folder of its own."""
    data_dir = WORK / label
    data_dir.mkdir(parents=True, exist_ok=True)
    if label == "sqlite":
        database_url = f"sqlite:///{WORK / f'cache-{size}.sqlite3'}"
    else:
        database_url = _kept_postgres_database(f"bounceadmin_bench_alerts_{size}")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bounceadmin.settings",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "CELERY_BROKER_URL": "filesystem://",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "plain",
        "ALERTS_EMAIL_TO": "",
        "ALERTS_SLACK_WEBHOOK_URL": "",
    }


def _kept_postgres_database(name: str) -> str:
    import psycopg

    from bench.run import postgres_url

    server_url = postgres_url()
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"


# --- one pass, inside Django ---------------------------------------------------------------------


def run_pass(subusers: int, per_subuser: int, runs: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max

    from bounceadmin.bounces.models import Bounce

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seeded = _seed(subusers, per_subuser)
    seed_seconds = time.perf_counter() - started
    now = Bounce.objects.aggregate(m=Max("created"))["m"] + timedelta(seconds=1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    out = {
        "rows": Bounce.objects.count(),
        "subusers": subusers,
        "seeded": seeded,
        "seed_seconds": seed_seconds,
        # Now, at the end of the generated history: the newest days are much denser than the
        # days before (every subuser looks like a spike, hundreds of alerts open at once).
        "burst": _timed_runs(now, runs),
        # 90 days back, where the history's density is nearly even day to day: a steady
        # account's hour, the usual evaluation.
        "steady": _timed_runs(now - timedelta(days=STEADY_DAYS_BACK), runs),
    }
    return out


def _timed_runs(now, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bounceadmin.alerts.evaluate import evaluate_alerts
    from bounceadmin.alerts.models import Alert, AlertRule
    from bounceadmin.alerts.rules import rule_findings
    from bounceadmin.alerts.rules.windows import window_ranges
    from bounceadmin.bounces.models import Bounce

    Alert.objects.all().delete()
    times, queries, opened = [], [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = evaluate_alerts(now=now)
            times.append(time.perf_counter() - started)
        if result.failed_rules:
            raise SystemExit(f"rules failed: {result.failed_rules}")
        queries.append(len(captured))
        opened.append(len(result.opened))
    per_rule = {}
    for rule in AlertRule.objects.filter(enabled=True).prefetch_related("subusers"):
        spent = []
        for _ in range(3):
            started = time.perf_counter()
            rule_findings(rule, now=now)
            spent.append(time.perf_counter() - started)
        per_rule[rule.kind] = statistics.median(spent)
    spike = AlertRule.objects.filter(kind="bounce_spike").first()
    in_windows = sum(
        Bounce.objects.filter(created__gte=start, created__lt=end).count()
        for start, end in window_ranges(spike, now)
    )
    return {
        "window_rows": in_windows,
        "first_run": times[0],
        "later_median": statistics.median(times[1:]) if runs > 1 else times[0],
        "later_max": max(times[1:]) if runs > 1 else times[0],
        "queries": queries,
        "opened": opened[0],
        "per_rule": per_rule,
    }


def _seed(subusers: int, per_subuser: int) -> bool:
    """The cache, unless the database already holds it (False: reused)."""
    from django.db import transaction
    from django.utils import timezone

    from bounceadmin.bounces.classification import bounce_type, classify
    from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
    from bounceadmin.sandbox import generate_bounces
    from bounceadmin.webhooks.models import WebhookEndpoint

    if Bounce.objects.count() == subusers * per_subuser + SPIKED * SPIKE:
        return False
    Subuser.objects.all().delete()
    rng = random.Random(2026)
    now = time.time()
    moment = timezone.now()
    names = [f"bench-{i:03d}" for i in range(subusers)]
    for i, name in enumerate(names):
        subuser = Subuser.objects.create(username=name)
        rows = []
        for entry in generate_bounces(rng, per_subuser, now=now):
            created = datetime.fromtimestamp(entry["created"], tz=UTC)
            classification, fault = classify(entry["status"], entry["reason"])
            rows.append(Bounce(
                subuser=subuser, email=entry["email"].lower(), status=entry["status"],
                reason=entry["reason"], created=created,
                type=bounce_type(entry["status"], entry["reason"]),
                classification=classification, fault=fault, first_seen=moment, last_seen=moment,
            ))  # fmt: skip
        if i < SPIKED:  # an incident in the last half hour
            for n in range(SPIKE):
                created = datetime.fromtimestamp(now - rng.random() * 1800, tz=UTC)
                rows.append(Bounce(
                    subuser=subuser, email=f"spike{n}@blocked.example", status="5.7.1",
                    reason="550 5.7.1 Service unavailable; client host blocked using Spamhaus",
                    created=created, type="hard", classification="Reputation", fault="sender",
                    first_seen=moment, last_seen=moment,
                ))  # fmt: skip
        with transaction.atomic():
            Bounce.objects.bulk_create(rows, batch_size=2000)
            WebhookEndpoint.objects.create(
                subuser=subuser, enabled=True, signing=True, public_key="bench",
                set_up_at=moment - timedelta(days=30),
                last_delivery_at=moment - timedelta(minutes=rng.randrange(1, 600)),
            )  # fmt: skip
            RefreshRun.objects.bulk_create([
                RefreshRun(subuser=subuser, kind="incremental", outcome="ok",
                           started_at=moment - timedelta(minutes=15 * k))
                for k in range(1, 9)
            ])  # fmt: skip
        if i % 20 == 19:
            print(f"seeded {i + 1} subusers", file=sys.stderr, flush=True)
    return True


def table(results: dict[str, dict]) -> str:
    labels = list(results)
    lines = ["| measure | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]

    def row(name, values):
        lines.append(f"| {name} | " + " | ".join(values) + " |")

    r = results
    row("cached bounces, subusers", [f"{r[k]['rows']:,}, {r[k]['subusers']}" for k in labels])
    for case in ("steady", "burst"):
        c = {k: r[k][case] for k in labels}
        row(f"{case}: bounces in the 15 windows", [f"{c[k]['window_rows']:,}" for k in labels])
        row(f"{case}: first run (opens the alerts), s",
            [f"{c[k]['first_run']:.2f}" for k in labels])  # fmt: skip
        row(f"{case}: next runs, median / max s",
            [f"{c[k]['later_median']:.2f} / {c[k]['later_max']:.2f}" for k in labels])  # fmt: skip
        row(f"{case}: queries per run (first, next)",
            [f"{c[k]['queries'][0]}, {c[k]['queries'][-1]}" for k in labels])  # fmt: skip
        row(f"{case}: alerts opened", [str(c[k]["opened"]) for k in labels])
        for kind in next(iter(c.values()))["per_rule"]:
            row(f"{case}: {kind} alone, s", [f"{c[k]['per_rule'][kind]:.3f}" for k in labels])
    return "\n".join(lines)


if __name__ == "__main__":
    main()
