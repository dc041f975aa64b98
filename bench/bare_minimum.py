"""The bare minimum for a full refresh, to compare the app against: page every subuser's list
with one requests.Session and upsert the rows with the database driver's executemany. No
classification, no history, no reconciliation, nothing else. `run` for the bounces, `run_lists`
for every other list of the subusers and the parent."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import requests

PAGE = 500

SQLITE_DDL = """CREATE TABLE IF NOT EXISTS bare_bounce (
    subuser TEXT NOT NULL, email TEXT NOT NULL, status TEXT, reason TEXT, created REAL,
    PRIMARY KEY (subuser, email))"""
PG_DDL = """CREATE TABLE IF NOT EXISTS bare_bounce (
    subuser TEXT NOT NULL, email TEXT NOT NULL, status TEXT, reason TEXT, created DOUBLE PRECISION,
    PRIMARY KEY (subuser, email))"""
UPSERT = (
    "INSERT INTO bare_bounce (subuser, email, status, reason, created) "
    "VALUES ({p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (subuser, email) DO UPDATE SET status = excluded.status, "
    "reason = excluded.reason, created = excluded.created"
)


def connect(database_url: str):
    """A DB-API connection and its placeholder style, from a sqlite:/// or postgres:// URL."""
    if database_url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(urlparse(database_url).path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn, "?", SQLITE_DDL
    import psycopg

    return psycopg.connect(database_url), "%s", PG_DDL


def run(*, api_url: str, api_key: str, subusers: list[str], database_url: str) -> dict:
    conn, placeholder, ddl = connect(database_url)
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS bare_bounce")
    cur.execute(ddl)
    conn.commit()
    sql = UPSERT.format(p=placeholder)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    started = time.perf_counter()
    rows = requests_made = 0
    for subuser in subusers:
        offset = 0
        batch = []
        while True:
            response = session.get(
                f"{api_url}/v3/suppression/bounces",
                params={"limit": PAGE, "offset": offset},
                headers={"on-behalf-of": subuser},
                timeout=30,
            )
            requests_made += 1
            page = response.json()
            batch.extend(
                (subuser, b["email"], b["status"], b["reason"], b["created"]) for b in page
            )
            if len(page) < PAGE:
                break
            offset += PAGE
        cur.executemany(sql, batch)
        conn.commit()
        rows += len(batch)
    elapsed = time.perf_counter() - started
    conn.close()
    return {"seconds": elapsed, "rows": rows, "requests": requests_made}


# The other lists (bench/lists.py): every paged list of every account with the app's own pages
# (500 entries, each re-reading the last 10 of the one before: the same requests the refresh
# makes), the groups and the group unsubscribes in one answer each; the rows upserted into one
# table keyed by (account, list, group, address).
PAGED_LISTS = {
    "blocks": "/v3/suppression/blocks",
    "invalid_emails": "/v3/suppression/invalid_emails",
    "spam_reports": "/v3/suppression/spam_reports",
    "global_unsubscribes": "/v3/suppression/unsubscribes",
}
OVERLAP = 10
LISTS_DDL = """CREATE TABLE IF NOT EXISTS bare_suppression (
    account TEXT NOT NULL, list TEXT NOT NULL, grp BIGINT NOT NULL, email TEXT NOT NULL,
    status TEXT, reason TEXT, ip TEXT, created {real},
    PRIMARY KEY (account, list, grp, email))"""
LISTS_UPSERT = (
    "INSERT INTO bare_suppression (account, list, grp, email, status, reason, ip, created) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (account, list, grp, email) DO UPDATE SET status = excluded.status, "
    "reason = excluded.reason, ip = excluded.ip, created = excluded.created"
)


def run_lists(*, api_url: str, api_key: str, accounts: list[str | None], database_url: str) -> dict:
    """`accounts`: subusers' names, None for the parent (no on-behalf-of)."""
    conn, placeholder, ddl = connect(database_url)
    real = "REAL" if placeholder == "?" else "DOUBLE PRECISION"
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS bare_suppression")
    cur.execute(LISTS_DDL.format(real=real))
    conn.commit()
    sql = LISTS_UPSERT.format(p=placeholder)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    started = time.perf_counter()
    rows = requests_made = 0

    def get(path: str, account: str | None, params: dict | None = None):
        nonlocal requests_made
        headers = {"on-behalf-of": account} if account else {}
        response = session.get(f"{api_url}{path}", params=params, headers=headers, timeout=60)
        requests_made += 1
        return response.json()

    for account in accounts:
        name = account or ""
        batch = []
        for kind, path in PAGED_LISTS.items():
            offset = 0
            while True:
                page = get(path, account, {"limit": PAGE, "offset": offset})
                batch.extend(
                    (name, kind, 0, e["email"], e.get("status", ""), e.get("reason", ""),
                     e.get("ip", ""), e["created"])
                    for e in page
                )  # fmt: skip
                if len(page) < PAGE:
                    break
                offset += PAGE - OVERLAP
        get("/v3/asm/groups", account)
        batch.extend(
            (name, "group_unsubscribes", e["group_id"], e["email"], "", "", "", e["created_at"])
            for e in get("/v3/asm/suppressions", account)
        )
        cur.executemany(sql, batch)
        conn.commit()
        rows += len(batch)
    elapsed = time.perf_counter() - started
    conn.close()
    return {"seconds": elapsed, "rows": rows, "requests": requests_made}
