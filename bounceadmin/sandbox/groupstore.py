"""Unsubscribe groups (SendGrid's "ASM" suppression groups) and the addresses unsubscribed from
each, per account (a subuser's username, "" for the parent). Group ids are unique across
accounts, as upstream; a group of another account is treated as missing."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS asm_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, name)
);
CREATE TABLE IF NOT EXISTS asm_suppressions (
    group_id INTEGER NOT NULL REFERENCES asm_groups(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created INTEGER NOT NULL,
    UNIQUE (group_id, email)
);
CREATE INDEX IF NOT EXISTS asm_suppressions_by_email ON asm_suppressions (email);
"""
GROUP_COLUMNS = "g.id, g.name, g.description, g.is_default"


def _group(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "is_default": bool(row["is_default"]),
        "unsubscribes": int(row["unsubscribes"]),
    }


class GroupTable:
    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock
        with lock:
            conn.executescript(SCHEMA)

    def add_group(
        self, account: str, name: str, *, description: str = "", is_default: bool = False
    ) -> dict[str, Any]:
        """Create the group, or update its description/default if the name exists."""
        if not name:
            raise ValueError("group name must not be empty")
        with self._lock:
            self._conn.execute(
                "INSERT INTO asm_groups (account, name, description, is_default) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(account, name) DO UPDATE SET "
                "description=excluded.description, is_default=excluded.is_default",
                (account, name, description, int(is_default)),
            )
            row = self._conn.execute(
                "SELECT id FROM asm_groups WHERE account = ? AND name = ?", (account, name)
            ).fetchone()
        found = self.get_group(account, int(row[0]))
        assert found is not None  # noqa: S101 - just written under the same lock
        return found

    def groups(self, account: str) -> list[dict[str, Any]]:
        return self._select("g.account = ?", (account,))

    def get_group(self, account: str, group_id: int) -> dict[str, Any] | None:
        found = self._select("g.account = ? AND g.id = ?", (account, group_id))
        return found[0] if found else None

    def _select(self, where: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        sql = (
            f"SELECT {GROUP_COLUMNS}, (SELECT COUNT(*) FROM asm_suppressions s "  # noqa: S608
            f"WHERE s.group_id = g.id) AS unsubscribes FROM asm_groups g WHERE {where} "
            "ORDER BY g.id"
        )
        with self._lock:
            return [_group(r) for r in self._conn.execute(sql, args).fetchall()]

    def add(self, account: str, group_id: int, rows: Iterable[dict[str, Any]]) -> int:
        """Upsert addresses into the group (`email`, optional `created`, default now)."""
        now = int(time.time())
        if self.get_group(account, group_id) is None:
            raise ValueError(f"no group {group_id} for account {account!r}")

        def params() -> Iterable[tuple[int, str, int]]:
            for row in rows:
                email = str(row["email"]).strip().lower()
                if not email:
                    raise ValueError("email must not be empty")
                created = row.get("created")
                yield group_id, email, now if created is None else int(created)

        with self._lock:
            before = self._conn.total_changes
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT INTO asm_suppressions (group_id, email, created) VALUES (?, ?, ?) "
                    "ON CONFLICT(group_id, email) DO UPDATE SET created=excluded.created",
                    params(),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return self._conn.total_changes - before

    def delete_group(self, group_id: int) -> bool:
        """The group and its addresses gone, as `DELETE /v3/asm/groups/{group_id}` does."""
        with self._lock:
            self._conn.execute("DELETE FROM asm_suppressions WHERE group_id = ?", (group_id,))
            deleted = self._conn.execute("DELETE FROM asm_groups WHERE id = ?", (group_id,))
            return deleted.rowcount > 0

    def emails(self, group_id: int) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT email FROM asm_suppressions WHERE group_id = ? ORDER BY email",
                (group_id,),
            ).fetchall()
        return [r[0] for r in rows]

    def remove(self, group_id: int, emails: Iterable[str]) -> int:
        with self._lock:
            before = self._conn.total_changes
            self._conn.executemany(
                "DELETE FROM asm_suppressions WHERE group_id = ? AND email = ?",
                ((group_id, str(e).strip().lower()) for e in emails),
            )
            return self._conn.total_changes - before

    def suppressions(self, account: str, email: str | None = None) -> list[dict[str, Any]]:
        """Every (address, group) of the account, newest first, as `GET /v3/asm/suppressions`
        answers it; only one address's with `email`."""
        where, args = "g.account = ?", [account]
        if email is not None:
            where += " AND s.email = ?"
            args.append(email.strip().lower())
        sql = (
            "SELECT s.email, g.id, g.name, s.created FROM asm_suppressions s "  # noqa: S608
            f"JOIN asm_groups g ON g.id = s.group_id WHERE {where} "
            "ORDER BY s.created DESC, s.email, g.id"
        )
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            {"email": r[0], "group_id": int(r[1]), "group_name": r[2], "created_at": int(r[3])}
            for r in rows
        ]

    def suppression_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT g.account, COUNT(*) FROM asm_suppressions s "
                "JOIN asm_groups g ON g.id = s.group_id GROUP BY g.account"
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM asm_suppressions")
            self._conn.execute("DELETE FROM asm_groups")
            self._conn.execute("DELETE FROM sqlite_sequence WHERE name = 'asm_groups'")
