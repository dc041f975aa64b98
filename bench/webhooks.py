"""The Event Webhook's throughput: signed batches posted to a real web process (gunicorn, one
process) as fast as it takes them, applied by one real Celery worker; then the same with the
worker SIGKILLed mid-way and started again. Checks that no event is lost or applied twice.

    python -m bench.webhooks [--events 100000] [--batch 1000] [--databases sqlite,postgres]

Each pass runs in a child process of its own (`--pass LABEL`), with its own data folder and
database, so Django is set up once per database. PostgreSQL as in bench/run.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench" / "webhooks"
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pass", dest="label", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.label:
        print(json.dumps(run_pass(args.events, args.batch)))
        return
    results = {}
    for label in args.databases.split(","):
        results[label] = spawn_pass(label, args.events, args.batch)
    print()
    print(table(results))


def spawn_pass(label: str, events: int, batch: int) -> dict:
    from bench.run import init_data

    env = pass_env(label, WORK / label)
    init_data(env)
    print(f"[{label}] webhook throughput: {events:,} events in batches of {batch:,} …", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.webhooks", "--pass", label, "--events", str(events),
         "--batch", str(batch)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-5000:])
        raise SystemExit(f"[{label}] webhook pass failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pass_env(label: str, data_dir: Path) -> dict[str, str]:
    """A pass's processes' environment, with an empty data folder and database of its own: on
    SQLite the embedded defaults (the filesystem broker, the file cache); on PostgreSQL a fresh
    database, and Redis as broker and cache when `make bench` started one, as in production."""
    from bench.run import fresh_postgres_database, postgres_url

    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if label == "sqlite":
        database_url = f"sqlite:///{data_dir / 'app.sqlite3'}"
    else:
        database_url = fresh_postgres_database(postgres_url())
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bounceadmin.settings",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "plain",
    }
    if label == "sqlite" or not env.get("CELERY_BROKER_URL", "").startswith("redis"):
        env["CELERY_BROKER_URL"] = "filesystem://"
        env.pop("CACHE_URL", None)
    return env


# --- one pass, inside Django ---------------------------------------------------------------------


def run_pass(events: int, batch: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return {
        "steady": _scenario("steady", events, batch, kill=False),
        "killed": _scenario("killed", events, batch, kill=True),
    }


def _scenario(name: str, events: int, batch: int, *, kill: bool) -> dict:
    import requests

    from bounceadmin.bounces.models import Bounce, Subuser
    from bounceadmin.webhooks.models import WebhookBatch, WebhookEndpoint, WebhookEvent

    key = _Key()
    subuser = Subuser.objects.create(username=f"bench-webhook-{name}")
    endpoint = WebhookEndpoint.objects.create(
        subuser=subuser, enabled=True, signing=True, public_key=key.public_key
    )
    port = _free_port()
    logs = WORK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    web = _start(
        ["gunicorn", "bounceadmin.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        logs / f"web-{name}.log",
    )
    worker = _start_worker(logs / f"worker-{name}.log")
    url = f"http://127.0.0.1:{port}{endpoint.path}"
    _wait_http(f"http://127.0.0.1:{port}/healthz")
    now = int(time.time())
    bodies = [
        _body([_event(f"{name}-{i}-{j}@example.com", now - 60, f"{name}-{i}-{j}")
               for j in range(batch)])
        for i in range(events // batch)
    ]  # fmt: skip
    # Every tenth batch is delivered twice, as SendGrid sometimes does.
    deliveries = [body for i, body in enumerate(bodies) for _ in range(2 if i % 10 == 0 else 1)]
    session = requests.Session()

    def post(body: bytes) -> int:
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": key.sign(body, stamp),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
        return session.post(url, data=body, headers=headers, timeout=60).status_code

    started = time.perf_counter()
    killed_at = None
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(post, deliveries))
        accepted = time.perf_counter() - started
        assert statuses == [200] * len(deliveries), sorted(set(statuses))
        pending = WebhookBatch.objects.filter(subuser=subuser, state="pending")
        if kill:
            while pending.count() > len(deliveries) * 0.6:
                time.sleep(0.05)
            killed_at = len(deliveries) - pending.count()
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            worker = _start_worker(logs / f"worker-{name}-restarted.log")
        while pending.exists():
            if time.perf_counter() - started > 1800:
                raise SystemExit(f"{name}: batches still pending after 30 minutes")
            time.sleep(0.05)
        applied = time.perf_counter() - started
    finally:
        _stop(worker)
        _stop(web)
    stored = WebhookEvent.objects.filter(subuser=subuser).count()
    bounces = Bounce.objects.filter(subuser=subuser).count()
    # What the batches say they applied: more than were sent would be an event applied twice.
    outcomes = WebhookBatch.objects.filter(subuser=subuser).values_list("outcome", flat=True)
    applied_events = sum(
        n for outcome in outcomes for k, n in outcome.items() if k in WebhookEvent.Outcome.values
    )
    return {
        "events": events,
        "deliveries": len(deliveries),
        "accepted_seconds": accepted,
        "applied_seconds": applied,
        "accepted_per_second": len(deliveries) * batch / accepted,
        "applied_per_second": events / applied,
        "events_stored": stored,
        "bounces": bounces,
        "killed_after_batches": killed_at,
        "lost": events - stored,
        "applied_events": applied_events,
        "applied_twice": max(0, applied_events - events),
    }


class _Key:
    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self._private = ec.generate_private_key(ec.SECP256R1())
        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def sign(self, body: bytes, stamp: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        signature = self._private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()


def _event(email: str, at: int, event_id: str) -> dict:
    return {"email": email, "timestamp": at, "event": "bounce", "type": "bounce",
            "sg_event_id": event_id, "status": "5.1.1",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            "bounce_classification": "Invalid Address"}  # fmt: skip


def _body(events: list[dict]) -> bytes:
    return (json.dumps(events, separators=(",", ":")) + "\r\n").encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(command: list[str], log: Path) -> subprocess.Popen:
    bindir = Path(sys.executable).parent
    return subprocess.Popen(
        [str(bindir / command[0]), *command[1:]], cwd=ROOT, stdout=log.open("ab"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _start_worker(log: Path) -> subprocess.Popen:
    proc = _start(
        ["celery", "-A", "bounceadmin", "worker", "--concurrency=1", "--loglevel=INFO",
         "--without-mingle", "--without-gossip"],
        log,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start: see {log}")
        time.sleep(0.1)
    return proc


def _wait_http(url: str) -> None:
    import requests

    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def table(results: dict[str, dict]) -> str:
    labels = list(results)
    lines = ["| webhook throughput | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]

    def row(name: str, fmt) -> None:
        lines.append(f"| {name} | " + " | ".join(fmt(results[k]) for k in labels) + " |")

    for scenario, title in (("steady", "steady"), ("killed", "worker SIGKILLed mid-way")):
        row(
            f"{title}: events accepted per second (s)",
            lambda r, s=scenario: (
                f"{r[s]['accepted_per_second']:,.0f} ({r[s]['accepted_seconds']:.1f} s)"
            ),
        )
        row(
            f"{title}: events applied per second (s)",
            lambda r, s=scenario: (
                f"{r[s]['applied_per_second']:,.0f} ({r[s]['applied_seconds']:.1f} s)"
            ),
        )
        row(
            f"{title}: events stored / lost / applied twice",
            lambda r, s=scenario: (
                f"{r[s]['events_stored']:,} / {r[s]['lost']} / {r[s]['applied_twice']}"
            ),
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
