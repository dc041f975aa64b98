"""The suppression lists other than the subusers' bounces, in the sandbox's SQLite file.

An account is a subuser's username, or "" for the parent (like the webhook table). Flat lists
(`FLAT_LISTS`: blocks, invalid emails, spam reports, global unsubscribes, and the parent's own
bounces) share one table, each row keeping only the fields its list has (`FIELDS`); unsubscribe
groups and their addresses are in groupstore.py (`ListTable.groups`). The same connection and
lock as the rest of the store, handed over by `SandboxStore`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

from bounceadmin.sandbox.emailfilter import email_conditions
from bounceadmin.sandbox.groupstore import GroupTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS suppressions (
    list TEXT NOT NULL,         -- one of FLAT_LISTS
    account TEXT NOT NULL,      -- a subuser's username, '' for the parent
    email TEXT NOT NULL,
    created INTEGER NOT NULL,
    status TEXT,
    reason TEXT,
    ip TEXT,
    UNIQUE (list, account, email)
);
-- The list order (created DESC, email) off an index, as for the bounces.
CREATE INDEX IF NOT EXISTS suppressions_by_created
    ON suppressions (list, account, created DESC, email);
"""

# What each list's entries carry, in the order the spec's examples show them (created, email and
# then these). From tsg_suppressions_v3.json: BlocksResponse, InvalidEmail, SpamReportsResponse,
# the unsubscribes list's inline schema, BounceResponse.
FIELDS: dict[str, tuple[str, ...]] = {
    "blocks": ("reason", "status"),
    "invalid_emails": ("reason",),
    "spam_reports": ("ip",),
    "unsubscribes": (),
    "bounces": ("reason", "status"),  # only the parent's; subusers' are in the bounces table
}
FLAT_LISTS = tuple(FIELDS)
DEFAULTS = {"status": "4.0.0", "reason": "", "ip": "192.0.2.1"}


def check_list(kind: str) -> str:
    if kind not in FIELDS:
        raise ValueError(f"unknown list {kind!r}; expected one of {', '.join(FLAT_LISTS)}")
    return kind


def _entry(kind: str, row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"created": row["created"], "email": row["email"]}
    for name in FIELDS[kind]:
        out[name] = row[name]
    return out


class ListTable:
    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock
        with lock:
            conn.executescript(SCHEMA)
        self.groups = GroupTable(conn, lock)

    def add(self, kind: str, account: str, rows: Iterable[dict[str, Any]]) -> int:
        """Upsert entries by address (a repeat overwrites); `email` needed, the rest optional
        (`created` defaults to now). Rows stream: a benchmark's million never sit in memory."""
        check_list(kind)
        now = int(time.time())

        def params() -> Iterable[tuple[Any, ...]]:
            for row in rows:
                email = str(row["email"]).strip().lower()
                if not email:
                    raise ValueError("email must not be empty")
                created = row.get("created")
                values = {n: str(row.get(n) or DEFAULTS[n]) for n in FIELDS[kind]}
                yield (
                    kind, account, email, now if created is None else int(created),
                    values.get("status"), values.get("reason"), values.get("ip"),
                )  # fmt: skip

        with self._lock:
            before = self._conn.total_changes
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT INTO suppressions (list, account, email, created, status, reason, ip)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(list, account, email) DO UPDATE"
                    " SET created=excluded.created, status=excluded.status,"
                    " reason=excluded.reason, ip=excluded.ip",
                    params(),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return self._conn.total_changes - before

    def page(
        self,
        kind: str,
        account: str,
        *,
        limit: int,
        offset: int = 0,
        start_time: int | None = None,
        end_time: int | None = None,
        email: str | None = None,
    ) -> list[dict[str, Any]]:
        """One page as the list endpoint answers it (limit -1: all), newest first, then email;
        times inclusive, `email` SendGrid's prefix filter with `%` wildcards."""
        where, args = ["list = ?", "account = ?"], [check_list(kind), account]
        if start_time is not None:
            where.append("created >= ?")
            args.append(start_time)
        if end_time is not None:
            where.append("created <= ?")
            args.append(end_time)
        email_where, email_args = email_conditions(email)
        where += email_where
        args += email_args
        # Only fixed fragments are joined; every value travels as a bound parameter.
        sql = f"SELECT * FROM suppressions WHERE {' AND '.join(where)}"  # noqa: S608
        sql += " ORDER BY created DESC, email LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._conn.execute(sql, (*args, limit, offset)).fetchall()
        return [_entry(kind, r) for r in rows]

    def entries(self, kind: str, account: str) -> list[dict[str, Any]]:
        """Every entry of one list in API order (for assertions and the controls)."""
        return self.page(kind, account, limit=-1)

    def get(self, kind: str, account: str, email: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM suppressions WHERE list = ? AND account = ? AND email = ?",
                (check_list(kind), account, email.strip().lower()),
            ).fetchone()
        return _entry(kind, row) if row else None

    def remove(self, kind: str, account: str, emails: Iterable[str]) -> int:
        """Delete the given addresses (case-insensitive); unknown ones are ignored."""
        check_list(kind)
        with self._lock:
            before = self._conn.total_changes
            self._conn.executemany(
                "DELETE FROM suppressions WHERE list = ? AND account = ? AND email = ?",
                ((kind, account, str(e).strip().lower()) for e in emails),
            )
            return self._conn.total_changes - before

    def remove_first(self, kind: str, account: str, n: int) -> list[str]:
        """Delete the first `n` entries in list order (one atomic step); returns their emails."""
        with self._lock:
            emails = [e["email"] for e in self.page(kind, account, limit=n)] if n > 0 else []
            self.remove(kind, account, emails)
        return emails

    def remove_all(self, kind: str, account: str) -> int:
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM suppressions WHERE list = ? AND account = ?",
                (check_list(kind), account),
            )
            return cur.rowcount

    def count(self, kind: str | None = None, account: str | None = None) -> int:
        where, args = ["1"], []
        if kind is not None:
            where.append("list = ?")
            args.append(check_list(kind))
        if account is not None:
            where.append("account = ?")
            args.append(account)
        sql = f"SELECT COUNT(*) FROM suppressions WHERE {' AND '.join(where)}"  # noqa: S608
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    def counts(self) -> dict[str, dict[str, int]]:
        """Entries per account and list, group unsubscribes included (as `group_unsubscribes`):
        only accounts that hold any."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT account, list, COUNT(*) FROM suppressions GROUP BY account, list"
            ).fetchall()
        out: dict[str, dict[str, int]] = {}
        for account, kind, n in rows:
            out.setdefault(account, {})[kind] = int(n)
        for account, n in self.groups.suppression_counts().items():
            out.setdefault(account, {})["group_unsubscribes"] = n
        return out

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM suppressions")
            self.groups.clear()
