"""SQLite-backed state of the SendGrid sandbox: subusers, their bounce lists and (through
`webhooks.py`, on the same connection) their Event Webhook settings.

One connection guarded by one lock: SQLite serialises writers anyway, a single connection is the
only way ":memory:" databases can be shared between server threads, and every query here is short
(indexed), so the lock is never held long. No Django: the sandbox must run without it.

Whatever adds bounces (the controls, seeding, mutate faults, the demo trickle) goes through
`add_bounces`, which tells the listeners (the Event Webhook's delivery) what it wrote; a
recipient's own spam report or unsubscribe (the controls, the trickle) through `add_entries`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypedDict

from bounceadmin.sandbox.emailfilter import email_conditions, like_pattern  # noqa: F401
from bounceadmin.sandbox.liststore import ListTable
from bounceadmin.sandbox.webhooks import WebhookTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS subusers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    region TEXT NOT NULL DEFAULT 'global'
);
CREATE TABLE IF NOT EXISTS bounces (
    subuser_id INTEGER NOT NULL REFERENCES subusers(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    created INTEGER NOT NULL,
    UNIQUE (subuser_id, email)
);
-- The list endpoint's order (created DESC, email) read straight off an index, so a page deep into
-- a 1,000,000-row list costs an index walk and no sort. The UNIQUE constraint above doubles as
-- the (subuser, email) index used by single-address lookups, deletes and prefix filters.
CREATE INDEX IF NOT EXISTS bounces_by_created
    ON bounces (subuser_id, created DESC, email);
"""

DEFAULT_STATUS = "5.1.1"
DEFAULT_REASON = "550 5.1.1 The email account that you tried to reach does not exist."


class Bounce(TypedDict):
    """One row as the v3 API renders it."""

    created: int | float
    email: str
    reason: str
    status: str


class BounceListener(Protocol):
    """Told about every bounce written; `wants` first, so lists nobody listens to cost nothing."""

    def wants(self, subuser: str) -> bool: ...
    def bounces_added(self, subuser: str, rows: list[Bounce]) -> None: ...
    def entries_added(
        self, account: str, kind: str, rows: list[dict[str, Any]], group_id: int | None
    ) -> None: ...


class Subuser(TypedDict):
    id: int
    username: str
    email: str
    disabled: bool
    region: str


class SandboxStore:
    """Subusers and bounce lists in one SQLite file (or ":memory:")."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            if self.path != ":memory:":
                # WAL keeps readers (an operator's sqlite3 shell) from blocking the server.
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            # 64 MB of page cache (default 2 MB) keeps the hot part of both bounce indexes of a
            # 1,000,000-row benchmark list in memory while clients page through it.
            self._conn.execute("PRAGMA cache_size=-65536")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(SCHEMA)
        self.webhooks = WebhookTable(self._conn, self._lock)
        self.lists = ListTable(self._conn, self._lock)  # every other suppression list
        self._listeners: list[BounceListener] = []

    def add_listener(self, listener: BounceListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: BounceListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- subusers -------------------------------------------------------------------------------

    def add_subuser(
        self,
        username: str,
        *,
        email: str | None = None,
        disabled: bool = False,
        region: str = "global",
    ) -> Subuser:
        """Create the subuser, or update email/disabled/region if it exists (keeps its id)."""
        if not username:
            raise ValueError("username must not be empty")
        if region not in ("global", "eu"):
            raise ValueError("region must be 'global' or 'eu'")
        email = email or f"ops+{username}@example.com"
        with self._lock:
            self._conn.execute(
                "INSERT INTO subusers (username, email, disabled, region) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(username) DO UPDATE SET email=excluded.email, "
                "disabled=excluded.disabled, region=excluded.region",
                (username, email, int(disabled), region),
            )
            found = self.get_subuser(username)
        assert found is not None  # noqa: S101 - just written under the same lock
        return found

    def get_subuser(self, username: str) -> Subuser | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM subusers WHERE username = ?", (username,)
            ).fetchone()
        return _subuser(row) if row else None

    def subusers(self) -> list[Subuser]:
        return self.list_subusers(limit=-1)

    def list_subusers(
        self,
        *,
        limit: int = -1,
        offset: int = 0,
        username: str | None = None,
        region: str | None = None,
    ) -> list[Subuser]:
        """Subusers ordered by id; `username` is an exact filter, `region` global/eu."""
        where, args = [], []
        if username is not None:
            where.append("username = ?")
            args.append(username)
        if region in ("global", "eu"):
            where.append("region = ?")
            args.append(region)
        sql = "SELECT * FROM subusers"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._conn.execute(sql, (*args, limit, offset)).fetchall()
        return [_subuser(r) for r in rows]

    # --- bounces --------------------------------------------------------------------------------

    def _subuser_id(self, username: str, *, create: bool) -> int | None:
        row = self._conn.execute("SELECT id FROM subusers WHERE username = ?", (username,))
        found = row.fetchone()
        if found:
            return int(found[0])
        if not create:
            return None
        return int(self.add_subuser(username)["id"])

    def add_bounces(self, subuser: str, rows: Iterable[dict[str, Any]]) -> int:
        """Upsert bounces by email (a repeat bounce overwrites status, reason and created).

        Each row needs `email`; `status`, `reason` and `created` (unix seconds) are optional.
        The subuser is created if it does not exist yet, which keeps test set-up short.
        Returns the number of rows written.
        """
        now = int(time.time())

        def params(sid: int) -> Iterable[tuple[int, str, str, str, int]]:
            for row in rows:
                email = str(row["email"]).strip().lower()
                if not email:
                    raise ValueError("bounce email must not be empty")
                created = row.get("created")
                yield (
                    sid,
                    email,
                    str(row.get("status") or DEFAULT_STATUS),
                    str(row.get("reason") or DEFAULT_REASON),
                    now if created is None else _number(created),
                )

        with self._lock:
            sid = self._subuser_id(subuser, create=True)
            assert sid is not None  # noqa: S101 - create=True never returns None
            listening = [lis for lis in self._listeners if lis.wants(subuser)]
            # Kept in memory only when someone listens: a benchmark's million rows stream.
            written = list(params(sid)) if listening else params(sid)
            before = self._conn.total_changes
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT INTO bounces (subuser_id, email, status, reason, created) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(subuser_id, email) DO UPDATE SET "
                    "status=excluded.status, reason=excluded.reason, created=excluded.created",
                    written,
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            count = self._conn.total_changes - before
        # Outside the lock: a listener takes locks of its own, which must never wait on ours.
        if listening:
            rows = [_bounce((p[4], p[1], p[3], p[2])) for p in written]
            for listener in listening:
                listener.bounces_added(subuser, rows)
        return count

    def add_entries(
        self, kind: str, account: str, rows: Iterable[dict], *, group_id: int | None = None
    ) -> int:
        """Entries of another list (`lists`, or group `group_id`'s), as a recipient's action puts
        them there, told to the listeners. Seeding writes to `lists` itself: no events."""
        now = int(time.time())
        rows = [{**row, "created": row.get("created") or now} for row in rows]
        if group_id is None:
            written = self.lists.add(kind, account, rows)
        else:
            written = self.lists.groups.add(account, group_id, rows)
        with self._lock:
            listening = list(self._listeners)
        for listener in listening:  # outside the lock, as for bounces
            listener.entries_added(account, kind, rows, group_id)
        return written

    def remove_bounces(self, subuser: str, emails: Iterable[str]) -> int:
        """Delete the given addresses (case-insensitive); unknown ones are ignored."""
        with self._lock:
            sid = self._subuser_id(subuser, create=False)
            if sid is None:
                return 0
            before = self._conn.total_changes
            self._conn.executemany(
                "DELETE FROM bounces WHERE subuser_id = ? AND email = ?",
                ((sid, str(e).strip().lower()) for e in emails),
            )
            return self._conn.total_changes - before

    def remove_first_bounces(self, subuser: str, n: int) -> list[str]:
        """Delete the first `n` entries in list order (one atomic step); returns their emails."""
        with self._lock:
            emails = [b["email"] for b in self.list_bounces(subuser, limit=n)] if n > 0 else []
            self.remove_bounces(subuser, emails)
        return emails

    def remove_all_bounces(self, subuser: str) -> int:
        with self._lock:
            sid = self._subuser_id(subuser, create=False)
            if sid is None:
                return 0
            cur = self._conn.execute("DELETE FROM bounces WHERE subuser_id = ?", (sid,))
            return cur.rowcount

    def get_bounce(self, subuser: str, email: str) -> Bounce | None:
        with self._lock:
            sid = self._subuser_id(subuser, create=False)
            if sid is None:
                return None
            row = self._conn.execute(
                "SELECT created, email, reason, status FROM bounces "
                "WHERE subuser_id = ? AND email = ?",
                (sid, email.strip().lower()),
            ).fetchone()
        return _bounce(row) if row else None

    def bounces(self, subuser: str) -> list[Bounce]:
        """Every bounce of a subuser in API order (for assertions, not for the API)."""
        return self.list_bounces(subuser, limit=-1, offset=0)

    def list_bounces(
        self,
        subuser: str,
        *,
        limit: int,
        offset: int = 0,
        start_time: int | None = None,
        end_time: int | None = None,
        email: str | None = None,
    ) -> list[Bounce]:
        """One page as `GET /v3/suppression/bounces` returns it (limit -1 means all).

        Times are inclusive unix seconds; `email` is SendGrid's prefix filter with `%` wildcards.
        Order is created DESC, then email, so pages are stable under offset paging.
        """
        with self._lock:
            sid = self._subuser_id(subuser, create=False)
            if sid is None:
                return []
            where, args = ["subuser_id = ?"], [sid]
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
            conditions = " AND ".join(where)
            sql = f"SELECT created, email, reason, status FROM bounces WHERE {conditions}"  # noqa: S608
            sql += " ORDER BY created DESC, email LIMIT ? OFFSET ?"
            rows = self._conn.execute(sql, (*args, limit, offset)).fetchall()
        return [_bounce(r) for r in rows]

    def count(self, subuser: str | None = None) -> int:
        with self._lock:
            if subuser is None:
                return int(self._conn.execute("SELECT COUNT(*) FROM bounces").fetchone()[0])
            sid = self._subuser_id(subuser, create=False)
            if sid is None:
                return 0
            cur = self._conn.execute("SELECT COUNT(*) FROM bounces WHERE subuser_id = ?", (sid,))
            return int(cur.fetchone()[0])

    def bounce_counts(self) -> dict[str, int]:
        """Bounces per subuser, every subuser included (0 for an empty list), in id order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT username, (SELECT COUNT(*) FROM bounces WHERE subuser_id = subusers.id) "
                "FROM subusers ORDER BY id"
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def clear(self) -> None:
        """Empty the store (subusers, bounces, webhooks); ids start again from 1."""
        with self._lock:
            self.webhooks.clear()
            self.lists.clear()
            self._conn.execute("DELETE FROM bounces")
            self._conn.execute("DELETE FROM subusers")
            self._conn.execute("DELETE FROM sqlite_sequence WHERE name = 'subusers'")

    def summary(self) -> dict[str, int]:
        with self._lock:
            subusers = int(self._conn.execute("SELECT COUNT(*) FROM subusers").fetchone()[0])
        # `other_lists`: the entries of every list but the subusers' bounces, groups included.
        other = sum(sum(per_list.values()) for per_list in self.lists.counts().values())
        return {"subusers": subusers, "bounces": self.count(), "other_lists": other}


def _subuser(row: sqlite3.Row) -> Subuser:
    return Subuser(
        id=int(row["id"]),
        username=row["username"],
        email=row["email"],
        disabled=bool(row["disabled"]),
        region=row["region"],
    )


def _bounce(row: sqlite3.Row | Sequence[Any]) -> Bounce:
    return Bounce(created=_number(row[0]), email=row[1], reason=row[2], status=row[3])


def _number(value: Any) -> int | float:
    """SendGrid declares `created` a number: whole seconds stay ints, fractions are kept."""
    number = float(value)
    return int(number) if number.is_integer() else number
