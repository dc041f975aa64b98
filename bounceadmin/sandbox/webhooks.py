"""The Event Webhook settings of each account, in the sandbox's SQLite file.

An account is a subuser's username, or "" for the parent. Rows live beside the bounces (the same
connection and lock, handed over by `SandboxStore`), so a restarted sandbox keeps its webhooks and
their signing keys. `max_allowed` (the plan's cap per account) is a setting of the running
sandbox, not stored: it starts at DEFAULT_MAX_ALLOWED again after a restart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bounceadmin.sandbox import signing

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order: the id-less calls use the oldest
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,                  -- a subuser's username, '' for the parent
    url TEXT NOT NULL,
    settings TEXT NOT NULL,                 -- JSON: enabled, the event flags, names, OAuth
    signed INTEGER NOT NULL DEFAULT 0,
    private_key TEXT,                       -- PEM, made the first time signing is turned on
    public_key TEXT,
    created_date TEXT NOT NULL,
    updated_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_by_account ON webhooks (account, seq);
"""

# The event flags of EventWebhookRequest, in the spec's order.
EVENT_FLAGS = (
    "group_resubscribe", "delivered", "group_unsubscribe", "spam_report", "bounce", "deferred",
    "unsubscribe", "processed", "open", "click", "dropped",
)  # fmt: skip
# Shown only with `?include=account_status_change`, like SendGrid.
EXTRA_FLAGS = ("account_status_change",)
TEXT_FIELDS = ("friendly_name", "oauth_client_id", "oauth_client_secret", "oauth_token_url")
SETTINGS = ("enabled", *EVENT_FLAGS, *EXTRA_FLAGS, *TEXT_FIELDS)
DEFAULT_MAX_ALLOWED = 5

Webhook = dict[str, Any]  # the columns, with `settings` spread out; see _row


def valid_url(url: Any) -> bool:
    """An http(s) URL with a host: what SendGrid accepts as a webhook's address."""
    if not isinstance(url, str) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def redact_url(url: str) -> str:
    """The URL without the credentials it may carry (SendGrid sends them as basic auth)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _row(row: sqlite3.Row) -> Webhook:
    settings = json.loads(row["settings"])
    return {
        "id": row["id"],
        "account": row["account"],
        "url": row["url"],
        "enabled": bool(settings.get("enabled", False)),
        **{flag: bool(settings.get(flag, False)) for flag in (*EVENT_FLAGS, *EXTRA_FLAGS)},
        **{name: settings.get(name) for name in TEXT_FIELDS},
        "signed": bool(row["signed"]),
        "private_key": row["private_key"],
        "public_key": row["public_key"] if row["signed"] else "",
        "created_date": row["created_date"],
        "updated_date": row["updated_date"],
    }


class WebhookTable:
    """Create, read, update and delete webhooks; turn their signing on and off."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock
        self.max_allowed = DEFAULT_MAX_ALLOWED
        with self._lock:
            self._conn.executescript(SCHEMA)

    def create(self, account: str, url: str, settings: dict[str, Any]) -> Webhook:
        """A new webhook; signing starts off (SendGrid turns it on with a separate call)."""
        stamp = _now_iso()
        webhook_id = str(uuid.uuid4())
        kept = {k: v for k, v in settings.items() if k in SETTINGS}
        with self._lock:
            self._conn.execute(
                "INSERT INTO webhooks (id, account, url, settings, created_date, updated_date) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (webhook_id, account, url, json.dumps(kept), stamp, stamp),
            )
            found = self.get(account, webhook_id)
        assert found is not None
        return found

    def get(self, account: str | None, webhook_id: str) -> Webhook | None:
        """The webhook with that id, if it belongs to `account` (None: to any account)."""
        sql, args = "SELECT * FROM webhooks WHERE id = ?", [webhook_id]
        if account is not None:
            sql += " AND account = ?"
            args.append(account)
        with self._lock:
            row = self._conn.execute(sql, args).fetchone()
        return _row(row) if row else None

    def oldest(self, account: str) -> Webhook | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM webhooks WHERE account = ? ORDER BY seq LIMIT 1", (account,)
            ).fetchone()
        return _row(row) if row else None

    def list_for(self, account: str | None = None) -> list[Webhook]:
        """An account's webhooks (None: every account's), oldest first."""
        with self._lock:
            if account is None:
                rows = self._conn.execute("SELECT * FROM webhooks ORDER BY seq").fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT * FROM webhooks WHERE account = ? ORDER BY seq", (account,)
                ).fetchall()
        return [_row(r) for r in rows]

    def with_url(self, account: str, url: str, *, other_than: str | None = None) -> Webhook | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM webhooks WHERE account = ? AND url = ? AND id != ? "
                "ORDER BY seq LIMIT 1",
                (account, url, other_than or ""),
            ).fetchone()
        return _row(row) if row else None

    def count(self, account: str) -> int:
        with self._lock:
            cur = self._conn.execute("SELECT COUNT(*) FROM webhooks WHERE account = ?", (account,))
            return int(cur.fetchone()[0])

    def covering(self, account: str, flag: str) -> list[Webhook]:
        """The account's enabled webhooks that send events of `flag` (e.g. "bounce")."""
        return [w for w in self.list_for(account) if w["enabled"] and w.get(flag)]

    def update(
        self, account: str, webhook_id: str, url: str | None, settings: dict[str, Any]
    ) -> Webhook | None:
        """Change the given fields only (a partial update); None for an unknown id."""
        with self._lock:
            row = self._conn.execute(
                "SELECT settings, url FROM webhooks WHERE id = ? AND account = ?",
                (webhook_id, account),
            ).fetchone()
            if row is None:
                return None
            merged = json.loads(row["settings"])
            merged.update({k: v for k, v in settings.items() if k in SETTINGS})
            self._conn.execute(
                "UPDATE webhooks SET url = ?, settings = ?, updated_date = ? WHERE id = ?",
                (url or row["url"], json.dumps(merged), _now_iso(), webhook_id),
            )
            return self.get(account, webhook_id)

    def set_signed(self, account: str, webhook_id: str, enabled: bool) -> Webhook | None:
        """Signing on or off. The key pair is made the first time it is turned on and kept
        from then on, so turning signing off and on again publishes the same public key."""
        with self._lock:
            found = self.get(account, webhook_id)
            if found is None:
                return None
            if enabled and not found["private_key"]:
                private = signing.new_private_key()
                self._conn.execute(
                    "UPDATE webhooks SET private_key = ?, public_key = ? WHERE id = ?",
                    (private, signing.public_key(private), webhook_id),
                )
            self._conn.execute(
                "UPDATE webhooks SET signed = ?, updated_date = ? WHERE id = ?",
                (int(enabled), _now_iso(), webhook_id),
            )
            return self.get(account, webhook_id)

    def delete(self, account: str, webhook_id: str) -> bool:
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM webhooks WHERE id = ? AND account = ?", (webhook_id, account)
            )
            return cur.rowcount > 0

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM webhooks")
