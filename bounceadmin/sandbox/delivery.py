"""Delivering Event Webhook events the way SendGrid does: batched per webhook, signed, retried
with backoff, and now and then delivered twice (SendGrid promises at least once, not once).

Events wait in a queue per webhook. A batch goes out when the oldest waiting event has waited
`interval` seconds or as soon as `batch_size` events wait. One attempt per webhook runs at a time,
and a batch that failed (a non-2xx answer or no answer) is sent again, whole and before anything
newer, after `retry_seconds`, then twice as long each time (at most MAX_BACKOFF), until
GIVE_UP_SECONDS after its first attempt. Every attempt is signed afresh with its own timestamp
(webhookpost.py makes the POST). A webhook deleted or turned off gets nothing more: what waited
for it is dropped at its next attempt.

The scheduler runs in a thread of its own and each attempt in a short-lived thread, so neither
the API's request threads nor one slow receiver hold up anything else.

Unlike SendGrid, waiting events live in memory only: a restarted sandbox drops what it had not
delivered yet (the webhooks themselves are in the store and stay).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bounceadmin.sandbox.events import bounce_event, complete, flag_of, list_event
from bounceadmin.sandbox.store import Bounce, SandboxStore
from bounceadmin.sandbox.webhookpost import SIGNATURE_HEADER, encode, headers_for, post
from bounceadmin.sandbox.webhooks import Webhook, redact_url

DEFAULT_INTERVAL = 5.0
DEFAULT_BATCH_SIZE = 1000
DEFAULT_DUPLICATE_RATE = 0.02
DEFAULT_RETRY_SECONDS = 2.0
MAX_BACKOFF = 300.0
GIVE_UP_SECONDS = 24 * 3600.0  # SendGrid retries a failing POST for 24 hours, then drops it
POST_TIMEOUT = 10.0
LOG_SIZE = 500


@dataclass(eq=False)
class _Queue:
    """One webhook's waiting events and the batch it is delivering."""

    webhook_id: str
    account: str
    events: deque[tuple[float, dict[str, Any]]] = field(default_factory=deque)  # (arrived, e)
    batch: list[dict[str, Any]] | None = None
    attempt: int = 0  # attempts made of `batch`
    first_try: float = 0.0  # monotonic time of the batch's first attempt
    next_try: float = 0.0  # monotonic time of its next attempt, after a failure
    busy: bool = False  # an attempt is running: the next waits, so batches stay in order
    force: bool = False  # a flush asked for everything now, whatever interval and backoff say
    last: dict[str, Any] | None = None  # the newest attempt, for the page

    def size(self) -> int:
        return len(self.events) + len(self.batch or ())


class Delivery:
    """The Event Webhook's sender: queues per webhook, a scheduler thread, the attempt log."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        interval: float = DEFAULT_INTERVAL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        duplicate_rate: float = DEFAULT_DUPLICATE_RATE,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.interval = DEFAULT_INTERVAL
        self.batch_size = DEFAULT_BATCH_SIZE
        self.duplicate_rate = DEFAULT_DUPLICATE_RATE
        self.retry_seconds = DEFAULT_RETRY_SECONDS
        self.max_backoff = MAX_BACKOFF
        self.give_up_seconds = GIVE_UP_SECONDS
        self.timeout = POST_TIMEOUT
        self._cond = threading.Condition()
        self.configure(
            interval=interval,
            batch_size=batch_size,
            duplicate_rate=duplicate_rate,
            retry_seconds=retry_seconds,
        )
        self._rng = rng or random.Random()  # noqa: S311 - ids and coin flips, not secrets
        self._queues: dict[str, _Queue] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._seq = itertools.count(1)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- settings -------------------------------------------------------------------------------

    def configure(
        self,
        *,
        interval: float | None = None,
        batch_size: int | None = None,
        duplicate_rate: float | None = None,
        retry_seconds: float | None = None,
        max_allowed: int | None = None,
    ) -> None:
        """Change any of the settings (ValueError names a bad one; nothing changes then)."""
        checks = [
            ("interval", interval, float, lambda v: v > 0, "a number of seconds > 0"),
            ("batch_size", batch_size, int, lambda v: v >= 1, "an integer >= 1"),
            ("duplicate_rate", duplicate_rate, float, lambda v: 0 <= v <= 1, "between 0 and 1"),
            ("retry_seconds", retry_seconds, float, lambda v: v > 0, "a number of seconds > 0"),
            ("max_allowed", max_allowed, int, lambda v: v >= 0, "an integer >= 0"),
        ]
        values: dict[str, Any] = {}
        for name, value, kind, ok, expected in checks:
            if value is None:
                continue
            wrong_type = isinstance(value, bool) or not isinstance(value, (int, float))
            if kind is int and not isinstance(value, int):
                wrong_type = True
            if wrong_type or not ok(value):
                raise ValueError(f"{name} must be {expected}")
            values[name] = kind(value)
        with self._cond:
            for name, value in values.items():
                if name == "max_allowed":
                    self.store.webhooks.max_allowed = value
                else:
                    setattr(self, name, value)
            self._cond.notify_all()

    def config(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "batch_size": self.batch_size,
            "duplicate_rate": self.duplicate_rate,
            "retry_seconds": self.retry_seconds,
            "max_allowed": self.store.webhooks.max_allowed,
        }

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self.store.add_listener(self)
        self._thread = threading.Thread(target=self._schedule, name="webhook-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self.store.remove_listener(self)
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._thread = None
        # Attempts under way get a moment to finish; they are daemon threads, never waited out.
        deadline = time.monotonic() + 2
        with self._cond:
            while any(q.busy for q in self._queues.values()) and time.monotonic() < deadline:
                self._cond.wait(0.05)

    def clear(self) -> None:
        """Forget every waiting event and the attempt log (the reset control)."""
        with self._cond:
            for queue in self._queues.values():
                queue.force = False
            self._queues.clear()
            self._log.clear()
            self._cond.notify_all()

    # --- queueing -------------------------------------------------------------------------------

    def wants(self, subuser: str) -> bool:
        """A listener of the store: does any of the subuser's webhooks take bounce events?"""
        return bool(self.store.webhooks.covering(subuser, "bounce"))

    def bounces_added(self, subuser: str, rows: list[Bounce]) -> None:
        """A listener of the store: one `bounce` event per bounce written."""
        self.enqueue(subuser, [bounce_event(row, self._rng) for row in rows])

    def entries_added(
        self, account: str, kind: str, rows: list[dict[str, Any]], group_id: int | None
    ) -> None:
        """A listener of the store: a recipient's spam report or unsubscribe, as its event."""
        events = [list_event(kind, row, self._rng, group_id) for row in rows]
        self.enqueue(account, [event for event in events if event is not None])

    def enqueue(self, account: str, events: list[dict[str, Any]]) -> dict[str, int]:
        """Queue each event for the account's enabled webhooks whose settings cover it.

        Returns how many events each webhook got, by webhook id.
        """
        hooks = [w for w in self.store.webhooks.list_for(account) if w["enabled"]]
        routed: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            flag = flag_of(event)
            for hook in hooks:
                if flag and hook.get(flag):
                    routed.setdefault(hook["id"], []).append(event)
        now = time.monotonic()
        with self._cond:
            for webhook_id, batch in routed.items():
                queue = self._queues.setdefault(webhook_id, _Queue(webhook_id, account))
                queue.events.extend((now, event) for event in batch)
            self._cond.notify_all()
        return {webhook_id: len(batch) for webhook_id, batch in routed.items()}

    def submit(
        self, account: str, events: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Queue events given whole by a caller (the events control), with the ids and time
        SendGrid adds filled in where missing: (the events as queued, counts by webhook id)."""
        completed = [complete(event, self._rng) for event in events]
        return completed, self.enqueue(account, completed)

    # --- reading --------------------------------------------------------------------------------

    def attempts(self) -> list[dict[str, Any]]:
        """The recent delivery attempts, oldest first (copies)."""
        with self._cond:
            return [dict(entry) for entry in self._log]

    def status(self) -> dict[str, dict[str, Any]]:
        """Per webhook id: events waiting (with the batch under way) and the newest attempt."""
        with self._cond:
            return {
                webhook_id: {"queued": q.size(), "last": dict(q.last) if q.last else None}
                for webhook_id, q in self._queues.items()
            }

    # --- flushing -------------------------------------------------------------------------------

    def flush(self, timeout: float = 60.0) -> dict[str, int]:
        """Send what waits now, batch after batch, and return once each webhook's queue is
        empty or its attempt failed (a failed batch then waits for its retry as usual)."""
        with self._cond:
            targets = [q for q in self._queues.values() if q.size()]
            for queue in targets:
                queue.force = True
            start = next(self._seq)
            self._cond.notify_all()
            deadline = time.monotonic() + timeout
            while any(q.force or q.busy for q in targets):
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    break
                self._cond.wait(left)
            ids = {q.webhook_id for q in targets}
            made = [e for e in self._log if e["seq"] > start and e["webhook_id"] in ids]
            return {
                "webhooks": len(targets),
                "attempts": len(made),
                "delivered": sum(e["events"] for e in made if e["ok"] and not e["duplicate"]),
                "failed": sum(1 for e in made if not e["ok"]),
                "queued": sum(q.size() for q in self._queues.values()),
            }

    # --- the scheduler and its attempts ---------------------------------------------------------

    def _due(self, queue: _Queue, now: float) -> bool:
        if queue.busy:
            return False
        if queue.batch is not None:
            return queue.force or now >= queue.next_try
        if not queue.events:
            return False
        waited = now - queue.events[0][0]
        return queue.force or len(queue.events) >= self.batch_size or waited >= self.interval

    def _wake_in(self, now: float) -> float:
        soonest = 1.0  # a ceiling: settings changes notify, but a missed wake-up costs a second
        for queue in self._queues.values():
            if queue.busy:
                continue
            if queue.batch is not None:
                soonest = min(soonest, queue.next_try - now)
            elif queue.events:
                soonest = min(soonest, queue.events[0][0] + self.interval - now)
        return max(soonest, 0.005)

    def _schedule(self) -> None:
        while not self._stopping.is_set():
            with self._cond:
                now = time.monotonic()
                due = [q for q in self._queues.values() if self._due(q, now)]
                if not due:
                    self._cond.wait(self._wake_in(now))
                    continue
                for queue in due:
                    queue.busy = True
            for queue in due:
                name = f"webhook-post:{queue.webhook_id[:8]}"
                threading.Thread(
                    target=self._attempt, args=(queue,), name=name, daemon=True
                ).start()

    def _attempt(self, queue: _Queue) -> None:
        ok = False
        try:
            with self._cond:
                if queue.batch is None:
                    count = min(self.batch_size, len(queue.events))
                    queue.batch = [queue.events.popleft()[1] for _ in range(count)]
                    queue.attempt, queue.first_try = 0, time.monotonic()
                queue.attempt += 1
                batch, attempt = queue.batch, queue.attempt
            webhook = None
            if not self._stopping.is_set():  # after stop() the store may be closed
                webhook = self.store.webhooks.get(None, queue.webhook_id)
            if webhook is None or not webhook["enabled"]:
                # Deleted or turned off since the events were queued: SendGrid sends nothing.
                with self._cond:
                    if self._queues.get(queue.webhook_id) is queue:
                        del self._queues[queue.webhook_id]
                    queue.batch, queue.force = None, False
                    queue.events.clear()
                return
            ok = self._post(queue, webhook, batch, attempt, duplicate=False)
            if ok and self._rng.random() < self.duplicate_rate:
                self._post(queue, webhook, batch, attempt, duplicate=True)
        except Exception:  # a sandbox bug: say so, and treat it as a failed attempt
            traceback.print_exc()
        finally:
            with self._cond:
                self._settle(queue, ok)
                queue.busy = False
                self._cond.notify_all()

    def _settle(self, queue: _Queue, ok: bool) -> None:
        """After an attempt: done, given up, or the next try planned. Under the lock."""
        if queue.batch is None:
            pass
        elif ok:
            queue.batch, queue.attempt = None, 0
        elif time.monotonic() - queue.first_try >= self.give_up_seconds:
            queue.batch, queue.attempt = None, 0
            if queue.last is not None:
                queue.last["gave_up"] = True
        else:
            backoff = self.retry_seconds * 2 ** (queue.attempt - 1)
            queue.next_try = time.monotonic() + min(backoff, self.max_backoff)
        if not ok or not queue.size():
            queue.force = False  # a flush ends at a failure, or when all is sent

    def _post(
        self,
        queue: _Queue,
        webhook: Webhook,
        batch: list[dict[str, Any]],
        attempt: int,
        *,
        duplicate: bool,
    ) -> bool:
        body = encode(batch)
        headers = headers_for(webhook, body)
        signed = SIGNATURE_HEADER in headers
        status, error = post(webhook["url"], body, headers, self.timeout)
        ok = status is not None and 200 <= status < 300
        entry = {
            "seq": 0,
            "time": time.time(),
            "webhook_id": webhook["id"],
            "account": webhook["account"],
            "url": redact_url(webhook["url"]),
            "status": status,
            "error": error or None,
            "ok": ok,
            "events": len(batch),
            "attempt": attempt,
            "duplicate": duplicate,
            "signed": signed,
            "gave_up": False,
        }
        with self._cond:
            if self._queues.get(queue.webhook_id) is queue:  # not forgotten by a reset meanwhile
                entry["seq"] = next(self._seq)
                self._log.append(entry)
                queue.last = entry
        return ok
