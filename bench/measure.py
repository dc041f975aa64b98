"""One benchmark pass on one database, inside Django; prints its results as JSON on the last line.

Run by bench/run.py with DATABASE_URL, SENDGRID_API_URL and SENDGRID_API_KEY set: an empty
database is migrated, then refreshed from the sandbox, then (BENCH_PARTS: cache, lists or both)
its pages, export and push measured, and every other list (bench/lists.py).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import quote

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceadmin.settings")
django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import bare_minimum, lists  # noqa: E402
from bounceadmin.api.tokens import api_token_create  # noqa: E402
from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser  # noqa: E402
from bounceadmin.bounces.refresh import bounces_refresh_each  # noqa: E402
from bounceadmin.bounces.subusers import subusers_sync  # noqa: E402
from bounceadmin.keyset import Cursor, cursor_token  # noqa: E402
from bounceadmin.sendgrid import get_client  # noqa: E402

API = settings.SENDGRID_API_URL
KEY = settings.SENDGRID_API_KEY
PAGE_RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "15"))


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def refresh_all(full: bool, names: list[str]) -> tuple[float, int]:
    """Refresh every subuser as `manage.py refresh_bounces` does: one process, one subuser after
    another, the next one's download overlapping this one's write."""
    client = get_client()
    subusers = list(Subuser.objects.filter(username__in=names))
    started = time.perf_counter()
    requests_made = 0
    for _, run in bounces_refresh_each(subusers, full=full, client=client):
        assert isinstance(run, RefreshRun) and run.outcome == "ok", run
        requests_made += run.requests
    client.close()
    return time.perf_counter() - started, requests_made


def measure_refresh(names: list[str]) -> dict:
    first, requests_first = refresh_all(True, names)
    rows = Bounce.objects.count()
    again, _ = refresh_all(True, names)
    incremental, _ = refresh_all(False, names)
    bare = bare_minimum.run(
        api_url=API, api_key=KEY, subusers=names, database_url=os.environ["DATABASE_URL"]
    )
    return {
        "rows": rows,
        "requests": requests_first,
        "full_first": first,
        "full_unchanged": again,
        "incremental": incremental,
        "bare_minimum": bare["seconds"],
        "ratio": first / bare["seconds"],
    }


def deepest(sort: str) -> str:
    """The list's last page in `sort`, as Next leads to it: after the cursor of the row before
    its 50 rows (the list's default filter: addresses on the lists)."""
    field = sort.lstrip("-")
    listed = Bounce.objects.filter(removed_at__isnull=True)
    # The last rows in the list's order are the first ones in the opposite order.
    backwards = (
        listed.order_by(field, "id")
        if sort.startswith("-")
        else listed.order_by(f"-{field}", "-id")
    )
    row = backwards[50]
    token = cursor_token(Cursor(sort, getattr(row, field), row.pk, 0))
    return f"/bounces/?sort={sort}&after={token}"


def page_urls() -> dict[str, str]:
    some = Bounce.objects.order_by("id").first()
    today = timezone.localdate()
    sub = some.subuser.username
    return {
        "list, unfiltered": "/bounces/",
        "list, subuser + type": f"/bounces/?subuser={sub}&type=hard",
        "list, email prefix": "/bounces/?email=john",
        "list, % wildcard": "/bounces/?email=%25smith",
        "list, reason words + dates": "/bounces/?reason=mailbox+full"
        f"&start_date={today - timedelta(days=60)}&end_date={today}",
        # An alert's incident: one receiving domain in a window of a day (bounce_email_domain).
        "list, receiving domain + window": f"/bounces/?domain={some.email.partition('@')[2]}"
        f"&since={today - timedelta(days=7)}T00:00&until={today - timedelta(days=6)}T00:00",
        "list, sorted by created": "/bounces/?sort=created",
        "list, sorted by address": "/bounces/?sort=email",
        "list, deepest page (newest first)": deepest("-created"),
        "list, deepest page by address": deepest("email"),
        "overview": "/",
        "detail": f"/bounces/{some.pk}/",
    }


def api_urls() -> dict[str, str]:
    """The API's reads a script or a support tool makes most: the first page of bounces, a page
    10,000 rows deep (as following `next` 200 times at 50 a page leads to it), one address."""
    listed = Bounce.objects.filter(removed_at__isnull=True).order_by("-created", "-id")
    row = listed[9_999]
    token = cursor_token(Cursor("-created", row.created, row.pk, 0))
    return {
        "api, bounces first page": "/api/v1/bounces/",
        "api, bounces 10,000 rows deep": f"/api/v1/bounces/?after={token}",
        "api, lookup": f"/api/v1/lookup/?email={quote(row.email)}",
        "sendgrid/v3, bounces first 500": "/sendgrid/v3/suppression/bounces?limit=500",
        "sendgrid/v3, bounces 500 at offset 10,000": (
            "/sendgrid/v3/suppression/bounces?limit=500&offset=10000"
        ),
        "sendgrid/v3, one address": f"/sendgrid/v3/suppression/bounces/{quote(row.email)}",
    }


def measure_api_stream(api: Client, pages: int = 200) -> dict:
    """Rows per second a script gets following `next` through `/api/v1/bounces/` at the
    largest page (500): what reading the whole cache through the cursor costs."""
    url, rows = "/api/v1/bounces/?limit=500", 0
    started = time.perf_counter()
    for _ in range(pages):
        response = api.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.json()
        rows += len(body["results"])
        if not body["next"]:
            break
        url = body["next"]
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds}


def clients() -> tuple[Client, Client]:
    """The pages' client (a signed-in superuser) and the API's (a Bearer token, no session, as
    scripts call it)."""
    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench", password=None)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    _, secret = api_token_create(user, name=f"bench {timezone.now():%Y%m%d%H%M%S%f}")
    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, api


def measure_pages() -> dict:
    client, api = clients()
    results = timings(client, page_urls())
    return results | timings(api, api_urls()), measure_api_stream(api)


def timings(client: Client, urls: dict[str, str], runs: int = PAGE_RUNS) -> dict:
    results = {}
    for name, url in urls.items():
        client.get(url)  # warm caches
        times = []
        queries = set()
        for _ in range(runs):
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                seconds, response = timed(lambda url=url: client.get(url))
            assert response.status_code == 200, (url, response.status_code)
            times.append(seconds * 1000)
            queries.add(len(captured))
        times.sort()
        results[name] = {
            "median_ms": statistics.median(times),
            "p95_ms": times[max(0, int(len(times) * 0.95) - 1)],
            "queries": sorted(queries),
        }
    return results


EXPORT_CHILD = r"""
import os, resource, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bounceadmin.settings")
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username="bench"))
started = time.perf_counter()
response = client.get("/bounces/export.csv", {"removed": "1"})
size = rows = 0
for chunk in response.streaming_content:  # chunks hold many rows: count line ends
    size += len(chunk)
    rows += chunk.count(b"\r\n")
export_seconds = time.perf_counter() - started
# This process's own peak (VmHWM). Not ru_maxrss: Linux keeps that across exec, so it would
# report the benchmark process this one was forked from.
rss_mb = next(int(line.split()[1]) for line in open("/proc/self/status")
              if line.startswith("VmHWM:")) / 1024
started = time.perf_counter()
with connection.cursor() as cursor:
    cursor.execute("SELECT b.email, b.status, b.reason, b.created, s.username FROM bounces_bounce b"
                   " JOIN bounces_subuser s ON s.id = b.subuser_id")
    n = 0
    while batch := cursor.fetchmany(2000):
        n += len(batch)
cursor_seconds = time.perf_counter() - started
print(f"{rows - 1} {size} {export_seconds} {rss_mb} {cursor_seconds} {n}")
"""


def measure_export() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", EXPORT_CHILD],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-5000:])
        raise SystemExit("the export measurement failed")
    rows, size, seconds, rss, cursor_seconds, cursor_rows = out.stdout.split()[-6:]
    return {
        "rows": int(rows),
        "megabytes": int(size) / 1e6,
        "seconds": float(seconds),
        "peak_rss_mb": float(rss),
        "plain_cursor_seconds": float(cursor_seconds),
        "plain_cursor_rows": int(cursor_rows),
    }


def measure_push(*, subusers: int, per_subuser: int, latency_ms: int) -> dict:
    from bounceadmin.deletions import services
    from bounceadmin.deletions.push import deletion_push

    names = [f"push-{i:02d}" for i in range(subusers)]
    for name in names:
        requests.post(f"{API}/_sandbox/subusers", json={"username": name}, timeout=30)
        requests.post(
            f"{API}/_sandbox/bounces",
            json={"subuser": name, "generate": per_subuser, "seed": 7},
            timeout=120,
        )
    subusers_sync()
    refresh_all(True, names)
    settings.DELETION_ALLOW_SELF_APPROVAL = True
    user = get_user_model().objects.get(username="bench")
    created = services.deletion_request_create(
        user=user,
        bounces=Bounce.objects.filter(subuser__username__in=names),
        justification="benchmark",
        confirmation=f"delete {subusers * per_subuser}",
    )
    for request in created:
        services.deletion_approve(request_id=request.pk, user=user)
    requests.delete(f"{API}/_sandbox/requests", json={}, timeout=30)
    requests.post(f"{API}/_sandbox/config", json={"latency_ms": latency_ms}, timeout=30)
    client = get_client()
    before = client.requests_made
    started = time.perf_counter()
    for request in created:
        assert deletion_push(request_id=request.pk, client=client).state == "done"
    seconds = time.perf_counter() - started
    requests.post(f"{API}/_sandbox/config", json={"latency_ms": 0}, timeout=30)
    upstream_left = sum(
        len(requests.get(f"{API}/_sandbox/bounces", params={"subuser": n}, timeout=30).json())
        for n in names
    )
    return {
        "addresses": subusers * per_subuser,
        "requests": client.requests_made - before,
        "seconds": seconds,
        "left_upstream": upstream_left,
    }


def main() -> None:
    names = json.loads(os.environ["BENCH_SUBUSERS"])
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    subusers_sync()
    parts = os.environ.get("BENCH_PARTS", "cache,lists").split(",")
    results = {"refresh": measure_refresh(names)}
    if "cache" in parts:
        results["pages"], results["api_stream"] = measure_pages()
        results["export"] = measure_export()
        results["push"] = measure_push(
            subusers=int(os.environ.get("BENCH_PUSH_SUBUSERS", "10")),
            per_subuser=int(os.environ.get("BENCH_PUSH_PER_SUBUSER", "1000")),
            latency_ms=int(os.environ.get("BENCH_PUSH_LATENCY_MS", "50")),
        )
    if "lists" in parts:
        results["lists"] = lists.measure_lists(
            names, refresh_all=refresh_all, timings=timings, clients=clients,
            bounces_before=results["refresh"],
        )  # fmt: skip
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(results))


if __name__ == "__main__":
    main()
