"""The bare minimum for a full refresh, to compare the app against: page every subuser's list
with one requests.Session and upsert the rows with the database driver's executemany. No
classification, no history, no reconciliation, nothing else."""

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
