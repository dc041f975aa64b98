"""Injected faults: the failure modes a SendGrid client must survive, on demand and in order.

Faults sit in a FIFO queue. Each request takes the first fault that matches it (method, path
prefix, on-behalf-of subuser) and uses up one of its `count` hits, so a test can script "two
503s, then a reset, then success" precisely. A fault with `after=n` first lets n matching
requests go by (every matching request counts, whatever another fault did to it) and fires from
the next one on, so faults can be placed on "the third page request" without counting the ones
queued before them.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from bounceadmin.sandbox.store import SandboxStore

# status    answer with `status` (and an errors body) instead of handling the request
# timeout   sleep `seconds`, then answer normally (the client's read timeout should fire first)
# reset     close the connection (TCP RST) without answering; nothing is processed
# bad_json  process the request, then answer 200 with a body that is not JSON
# truncated process the request, then send a Content-Length larger than the body and hang up
#           (a bodiless reply such as 204 is cut inside its status line instead)
# mutate    change the requested list (of the on-behalf-of subuser), then answer normally: remove
#           the first `remove` entries in list order, the addresses in `emails`, and upsert the
#           rows in `add` (created defaults to now, so they go to the front). Someone else
#           editing the list while a client pages through it. The bounces unless the path names
#           another paged list (then the parent's too, without on-behalf-of); otherwise no-op on
#           parent-level requests.
FAULT_KINDS = ("status", "timeout", "reset", "bad_json", "truncated", "mutate")
FIELDS = ("kind", "count", "status", "method", "path", "subuser", "seconds", "reset", "after",
          "remove", "emails", "add")  # fmt: skip
DEFAULT_TIMEOUT_SECONDS = 10.0
OTHER_LIST_PATH = re.compile(r"/v3/suppression/(blocks|invalid_emails|spam_reports|unsubscribes)")


@dataclass
class Fault:
    kind: str
    count: int = 1
    status: int | None = None
    method: str | None = None
    path: str | None = None
    subuser: str | None = None
    seconds: float | None = None
    # Verbatim X-RateLimit-Reset for `status` faults: a small number (a delta, the style one
    # SendGrid spec uses) or an epoch; both styles exist upstream and clients must cope with both.
    reset: int | None = None
    after: int = 0  # matching requests to let by before the first hit
    # `mutate` only
    remove: int | None = None
    emails: list[str] | None = None
    add: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ValueError("count must be a positive integer")
        if self.kind == "status":
            self.status = 503 if self.status is None else int(self.status)
            if not 100 <= self.status <= 599:
                raise ValueError("status must be an HTTP status code")
        if self.kind == "timeout" and self.seconds is None:
            self.seconds = DEFAULT_TIMEOUT_SECONDS
        if self.seconds is not None:
            self.seconds = float(self.seconds)
            if self.seconds < 0:
                raise ValueError("seconds must not be negative")
        if self.reset is not None:
            self.reset = int(self.reset)
        if self.method:
            self.method = self.method.upper()
        if not _count_like(self.after):
            raise ValueError("after must be a non-negative integer")
        mutation = (self.remove, self.emails, self.add)
        if self.kind != "mutate":
            if any(m is not None for m in mutation):
                raise ValueError("remove, emails and add belong to mutate faults")
            return
        if all(not m for m in mutation):
            raise ValueError("a mutate fault needs remove, emails or add")
        if self.remove is not None and not _count_like(self.remove):
            raise ValueError("remove must be a non-negative integer")
        emails_ok = isinstance(self.emails, list) and all(isinstance(e, str) for e in self.emails)
        if self.emails is not None and not emails_ok:
            raise ValueError("emails must be an array of strings")
        add_ok = isinstance(self.add, list) and all(
            isinstance(r, dict) and r.get("email") for r in self.add
        )
        if self.add is not None and not add_ok:
            raise ValueError("add must be an array of objects with an email")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        unknown = set(data) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        if "kind" not in data:
            raise ValueError("kind is required")
        return cls(**data)

    def matches(self, method: str, path: str, subuser: str | None) -> bool:
        if self.method and self.method != method.upper():
            return False
        if self.path and not path.startswith(self.path):
            return False
        return not (self.subuser and self.subuser != subuser)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def mutate(self, store: SandboxStore, subuser: str | None, path: str = "") -> dict[str, int]:
        """Apply a `mutate` fault to the store; returns what changed (for the request log).

        The list is the one the request's path names: a subuser's bounces by default, or one
        of the other paged lists (blocks, invalid emails, spam reports, unsubscribes), whose
        parent's list changes too on a request without on-behalf-of."""
        other = OTHER_LIST_PATH.match(path)
        if self.kind != "mutate" or not (subuser or other):
            return {"removed": 0, "added": 0}
        if other:
            kind, account = other.group(1), subuser or ""
            remove_first = partial(store.lists.remove_first, kind, account)
            remove = partial(store.lists.remove, kind, account)
            add = partial(store.lists.add, kind, account)
        else:
            assert subuser is not None  # noqa: S101 - checked above
            remove_first = partial(store.remove_first_bounces, subuser)
            remove = partial(store.remove_bounces, subuser)
            add = partial(store.add_bounces, subuser)
        removed = len(remove_first(self.remove)) if self.remove else 0
        if self.emails:
            removed += remove(self.emails)
        added = 0
        if self.add:
            now = int(time.time())
            added = add([{"created": now, **row} for row in self.add])
        return {"removed": removed, "added": added}


def _count_like(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class FaultQueue:
    """Thread-safe FIFO of pending faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, subuser: str | None) -> Fault | None:
        """Consume one hit of the first matching fault that is due; None when none is.

        Every matching fault still waiting (`after` > 0) counts this request, so each one's
        `after` is relative to when it was queued, independent of the faults ahead of it.
        """
        with self._lock:
            chosen = None
            for fault in self._faults:
                if not fault.matches(method, path, subuser):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                elif chosen is None:
                    chosen = fault
            if chosen is not None:
                chosen.count -= 1
                if chosen.count == 0:
                    self._faults = [f for f in self._faults if f is not chosen]
            return chosen

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]
