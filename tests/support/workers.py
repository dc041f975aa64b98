"""Real Celery worker processes for end-to-end tests, on the same broker and test database as
the test process (SQLite file or PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"], safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "127.0.0.1", safe="")  # a socket folder is %2F-quoted
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def purge_broker() -> None:
    """Drop the tasks earlier tests left queued, so a new worker sees only this test's."""
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        from bounceadmin.celery import app

        app.control.purge()
        return
    broker = Path(settings.BROKER_DIR)
    for sub in ("queue", "processed", "control"):
        shutil.rmtree(broker / sub, ignore_errors=True)
        (broker / sub).mkdir(parents=True)


purge_embedded_broker = purge_broker  # the earlier name


def worker_env(upstream, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SENDGRID_API_URL": upstream.url,
        "SENDGRID_EU_API_URL": upstream.eu_url,
        "SENDGRID_API_KEY": upstream.api_key,
        "SENDGRID_BACKOFF_SECONDS": "0.01",
        "LOG_FORMAT": "plain",
        **extra,
    }


def start_worker(env: dict[str, str], log_path: Path, *, pool: str = "solo") -> subprocess.Popen:
    """Start `celery worker` and wait until it is ready to take tasks."""
    log = open(log_path, "ab")  # noqa: SIM115  (the child keeps writing to it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bounceadmin", "worker", f"--pool={pool}",
         "--without-mingle", "--without-gossip", "--loglevel=INFO"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    proc.log_path = log_path
    deadline = time.monotonic() + 30
    while b"ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            kill_worker(proc)
            raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    return proc


def kill_worker(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the worker's whole process group (a prefork pool has children)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def stop_worker(proc: subprocess.Popen) -> None:
    """Stop a worker the test is done with. On Redis a warm shutdown (SIGTERM) is immediate. On
    the filesystem broker the worker notices it only between its 2-second waits for messages,
    and then waits out its timer: 3 to 6 s of nothing any test looks at, so it is killed
    outright. What it still held (the sweepers it queues at start) goes with it, and
    purge_broker() starts every later worker on an empty queue anyway."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        kill_worker(proc)
    else:
        kill_worker(proc, signal.SIGTERM)
