"""Every suppression list in `make bench` (`--only lists`): the sandbox seeded with as many entries
on the other lists (blocks, invalid emails, spam reports, global and group unsubscribes) as there
are bounces, spread over the subusers and the parent account; then, on each database, the bounce
refresh with those lists present upstream (first load against the bare minimum, then again with
the other lists cached), the full refresh of every other list against its bare minimum, the
address lookup (page and API) and `/suppressions/` (first and a deep page), with the query plans
of those reads.

Seeding runs outside Django (bench/run.py, through the sandbox's public API); `measure_lists`
runs inside the benchmark process (bench/measure.py), Django set up.
"""

from __future__ import annotations

import os
import random
import time
from urllib.parse import quote, urlencode

# Each account's entries per list, in percent: unsubscribes and groups largest, as in the demo.
SHARES = {"blocks": 22, "invalid_emails": 11, "spam_reports": 7, "unsubscribes": 27,
          "group_unsubscribes": 33}  # fmt: skip
# One address planted on a list of each kind over many accounts: the support agent's question
# "why does this address get none of our mail?" at its widest. A `+` in it: URLs must quote it.
EVERYWHERE = "pat.nguyen+bench@gmail.com"
PLANTED_PER_LIST = 5  # accounts per list (bounces, blocks, unsubscribes, a group)
PARENT = ""  # the parent account in the sandbox
LIST_PAGE_RUNS = int(os.environ.get("BENCH_LIST_PAGE_RUNS", "30"))
# BENCH_LISTS_AGAIN=1: refresh the other lists again, nothing changed and incremental, too.


def account_sizes(total: int, accounts: int) -> list[dict[str, int]]:
    """`total` entries over `accounts` accounts (the last one, the parent, takes the remainder),
    each account's share split over the lists by SHARES."""
    each = total // accounts
    counts = [each] * (accounts - 1) + [total - each * (accounts - 1)]
    sizes = []
    for count in counts:
        split = {kind: count * share // 100 for kind, share in SHARES.items()}
        split["group_unsubscribes"] += count - sum(split.values())
        sizes.append(split)
    return sizes


def seed_other_lists(store, names: list[str], total: int, *, now: float) -> None:
    """`total` entries over the other lists of `names` and the parent, plus EVERYWHERE."""
    from bounceadmin.sandbox import seed_lists

    rng = random.Random(2027)
    accounts = [*names, PARENT]
    for account, sizes in zip(accounts, account_sizes(total, len(accounts)), strict=True):
        seed_lists(store, account, sizes, rng=rng, now=now)
    day = int(now) - 86400

    def planted(i: int) -> list[dict]:
        return [{"email": EVERYWHERE, "created": day - 3600 * i}]

    pick = [names[i % len(names)] for i in range(4 * PLANTED_PER_LIST)]
    for i, name in enumerate(pick[:PLANTED_PER_LIST]):
        store.add_bounces(name, planted(i))
    for i, name in enumerate(pick[PLANTED_PER_LIST : 2 * PLANTED_PER_LIST]):
        store.lists.add("blocks", name, planted(i))
    for i, name in enumerate(pick[2 * PLANTED_PER_LIST : 3 * PLANTED_PER_LIST]):
        store.lists.add("unsubscribes", name, planted(i))
    for i, name in enumerate(pick[3 * PLANTED_PER_LIST :]):
        group = store.lists.groups.groups(name)[0]
        store.lists.groups.add(name, group["id"], planted(i))
    store.lists.add("spam_reports", PARENT, [{**planted(0)[0], "ip": "192.0.2.10"}])


# --- inside Django (bench/measure.py) ------------------------------------------------------------


def refresh_lists(accounts, *, full: bool) -> dict:
    """Every other list of every account, one account after another, as a subuser's refresh
    task does after its bounces (`lists_refresh`)."""
    from bounceadmin.sendgrid import get_client
    from bounceadmin.suppressions.refresh import lists_refresh

    client = get_client()
    requests_made = pages = 0
    started = time.perf_counter()
    for subuser in accounts:
        for name, run in lists_refresh(subuser=subuser, full=full, client=client).items():
            assert run is not None and run.outcome == "ok", (subuser.username, name, run)
            requests_made += run.requests
            pages += run.pages
    seconds = time.perf_counter() - started
    client.close()
    return {"seconds": seconds, "requests": requests_made, "pages": pages}


def deep_page_url() -> str:
    """`/suppressions/`'s last page newest first, as Next leads to it: after the cursor of the
    row before its last 50 in the merged order (created, side, id) of both tables."""
    from bounceadmin.bounces.models import Bounce
    from bounceadmin.keyset import Cursor, cursor_token
    from bounceadmin.suppressions.models import Suppression
    from bounceadmin.suppressions.union import BOUNCES, OTHERS

    oldest = [
        ((row.created, rank, row.pk), rank, row)
        for model, rank in ((Bounce, BOUNCES), (Suppression, OTHERS))
        for row in model.objects.order_by("created", "id").only("created")[:51]
    ]
    oldest.sort(key=lambda item: item[0])
    _, rank, row = oldest[50]
    token = cursor_token(Cursor(f"-created~{rank}", row.created, row.pk, 0))
    return "/suppressions/?" + urlencode({"after": token})


def most_listed_address() -> tuple[str, int]:
    """The generated address on the most lists and accounts (common names recur)."""
    from django.db.models import Count

    from bounceadmin.suppressions.models import Suppression

    found = (
        Suppression.objects.values("email")
        .annotate(n=Count("id"))
        .order_by("-n", "email")
        .exclude(email=EVERYWHERE)
        .first()
    )
    return found["email"], found["n"]


def page_urls() -> dict[str, str]:
    common, _ = most_listed_address()
    return {
        "/lookup/, planted address": f"/lookup/?email={quote(EVERYWHERE, safe='@')}",
        "/lookup/, most listed address": f"/lookup/?email={quote(common, safe='@')}",
        "/suppressions/, first page": "/suppressions/",
        "/suppressions/, deep page (cursor)": deep_page_url(),
        "/suppressions/?list=blocks, first page": "/suppressions/?list=blocks",
    }


def api_urls() -> dict[str, str]:
    common, _ = most_listed_address()
    return {
        "api lookup, planted address": f"/api/v1/lookup/?email={quote(EVERYWHERE, safe='@')}",
        "api lookup, most listed address": f"/api/v1/lookup/?email={quote(common, safe='@')}",
    }


def lookup_counts() -> dict[str, int]:
    from bounceadmin.bounces.models import Bounce
    from bounceadmin.suppressions.models import Suppression

    common, n = most_listed_address()
    return {
        "planted": Suppression.objects.filter(email=EVERYWHERE).count()
        + Bounce.objects.filter(email=EVERYWHERE).count(),
        "most_listed": n + Bounce.objects.filter(email=common).count(),
    }


def query_plans(client, urls: dict[str, str]) -> dict[str, list[str]]:
    """The plan lines of every query one request of each URL makes on the two big tables, as the
    planner chooses at this scale; `full_scans` lists those that read a whole table, in queries
    without a LIMIT (a LIMITed scan, such as the count capped at 1,000, stops early when rows
    match; one whose filter matches few rows would not)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    tables = ("suppressions_suppression", "bounces_bounce")
    plans: dict[str, list[str]] = {}
    scans: set[str] = set()
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        lines: list[str] = []
        for query in captured:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or not any(t in sql for t in tables):
                continue
            with transaction.atomic(), connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute(f"EXPLAIN {sql}")
                else:
                    cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                found = [str(row[-1]).strip() for row in cursor.fetchall()]
            found = [line for line in found if any(t in line for t in tables)]
            lines.extend(found)
            if " LIMIT " not in sql:
                scans.update(f"{name}: {line}" for line in found if _full(line))
        plans[name] = lines
    plans["full_scans"] = sorted(scans)
    return plans


def _plans(*found: dict[str, list[str]]) -> dict[str, list[str]]:
    """Plans of several query_plans() calls in one, their full scans together."""
    scans = sorted({scan for plans in found for scan in plans["full_scans"]})
    merged = {name: lines for plans in found for name, lines in plans.items()}
    return merged | {"full_scans": scans}


def _full(line: str) -> bool:
    """A plan line that reads a whole big table: a sequential scan, or SQLite's SCAN without an
    index (a SCAN through an index under a LIMIT stops early and is not one)."""
    if "Seq Scan on" in line:  # PostgreSQL, at any depth of the plan
        return True
    return line.startswith("SCAN ") and " USING " not in line


def measure_lists(names: list[str], *, refresh_all, timings, clients, bounces_before) -> dict:
    """The lists part of a benchmark pass; `bounces_before` is the bounce refresh as measured
    before the other lists were cached (bench/measure.py's measure_refresh)."""
    from django.conf import settings

    from bench import bare_minimum
    from bounceadmin.bounces.models import Subuser
    from bounceadmin.suppressions.models import Suppression

    accounts = [*Subuser.objects.filter(username__in=names).order_by("username")]
    accounts += list(Subuser.objects.filter(is_parent=True))
    first = refresh_lists(accounts, full=True)
    rows = Suppression.objects.count()
    bare = bare_minimum.run_lists(
        api_url=settings.SENDGRID_API_URL,
        api_key=settings.SENDGRID_API_KEY,
        accounts=[s.on_behalf_of for s in accounts],
        database_url=os.environ["DATABASE_URL"],
    )
    # Refreshing them again (nothing changed, then incremental) on request: at full size they add
    # minutes to each pass.
    again = os.environ.get("BENCH_LISTS_AGAIN") == "1"
    unchanged = refresh_lists(accounts, full=True) if again else None
    incremental = refresh_lists(accounts, full=False) if again else None
    bounces_after = {
        "full_unchanged": refresh_all(True, names)[0],
        "incremental": refresh_all(False, names)[0],
    }
    page, api = clients()
    urls, api_lookup = page_urls(), api_urls()
    pages = timings(page, urls, runs=LIST_PAGE_RUNS) | timings(api, api_lookup, runs=LIST_PAGE_RUNS)
    return {
        "accounts": len(accounts),
        "rows": rows,
        "full_first": first,
        "bare_minimum": bare,
        "ratio": first["seconds"] / bare["seconds"],
        "full_unchanged": unchanged,
        "incremental": incremental,
        "bounces_before": bounces_before,
        "bounces_after": bounces_after,
        "pages": pages,
        "lookup_entries": lookup_counts(),
        "plans": _plans(query_plans(page, urls), query_plans(api, api_lookup)),
    }


# --- the table (bench/run.py) --------------------------------------------------------------------


def table(results: dict[str, dict]) -> str:
    labels = list(results)
    lines = ["| measure | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]

    def row(name, values):
        lines.append(f"| {name} | " + " | ".join(values) + " |")

    r = {k: v["lists"] for k, v in results.items()}
    b = {k: r[k]["bounces_before"] for k in labels}
    a = {k: r[k]["bounces_after"] for k in labels}
    row("cached bounces / other entries", [f"{b[k]['rows']:,} / {r[k]['rows']:,}" for k in labels])
    row("bounces: full refresh, empty cache (s)", [f"{b[k]['full_first']:.1f}" for k in labels])
    row("bounces: bare minimum (s)", [f"{b[k]['bare_minimum']:.1f}" for k in labels])
    row("bounces: ratio", [f"{b[k]['ratio']:.2f}×" for k in labels])
    row(
        "bounces: full refresh, nothing changed, before / after the other lists cached (s)",
        [f"{b[k]['full_unchanged']:.1f} / {a[k]['full_unchanged']:.1f}" for k in labels],
    )
    row(
        "bounces: incremental, before / after the other lists cached (s)",
        [f"{b[k]['incremental']:.1f} / {a[k]['incremental']:.1f}" for k in labels],
    )
    row(
        "other lists: full refresh, empty cache (s, requests)",
        [f"{r[k]['full_first']['seconds']:.1f} ({r[k]['full_first']['requests']:,})"
         for k in labels],
    )  # fmt: skip
    row(
        "other lists: bare minimum, same pages and rows (s, requests)",
        [f"{r[k]['bare_minimum']['seconds']:.1f} ({r[k]['bare_minimum']['requests']:,})"
         for k in labels],
    )  # fmt: skip
    row("other lists: ratio", [f"{r[k]['ratio']:.2f}×" for k in labels])
    if all(r[k]["full_unchanged"] for k in labels):
        row(
            "other lists: full refresh, nothing changed (s)",
            [f"{r[k]['full_unchanged']['seconds']:.1f}" for k in labels],
        )
        row(
            "other lists: incremental (s)",
            [f"{r[k]['incremental']['seconds']:.1f}" for k in labels],
        )
    for page in next(iter(r.values()))["pages"]:
        row(
            f"{page}: median / p95 ms (queries)",
            [
                f"{r[k]['pages'][page]['median_ms']:.0f} / {r[k]['pages'][page]['p95_ms']:.0f} "
                f"({','.join(map(str, r[k]['pages'][page]['queries']))})"
                for k in labels
            ],
        )
    row(
        "lookup entries: planted / most listed address",
        [f"{r[k]['lookup_entries']['planted']} / {r[k]['lookup_entries']['most_listed']}"
         for k in labels],
    )  # fmt: skip
    row(
        "plans reading a whole table",
        [str(len(r[k]["plans"]["full_scans"])) for k in labels],
    )
    text = "\n".join(lines)
    for k in labels:
        for scan in r[k]["plans"]["full_scans"]:
            text += f"\n[{k}] full scan: {scan}"
    return text
