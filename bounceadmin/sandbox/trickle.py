"""The demo trickle: a new realistic bounce every few seconds, so a running demo keeps moving,
and now and then a recipient's spam report, unsubscribe or group unsubscribe instead.

Each one goes to a random active demo subuser that the store holds (none held: nothing happens)
and is written through `SandboxStore.add_bounces` or `add_entries`, the paths a recipient's
action takes, so the Event Webhook delivers it like any other.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from bounceadmin.sandbox.demo import SUBUSERS, FastRandom, generate_bounces
from bounceadmin.sandbox.listdemo import generate_entries
from bounceadmin.sandbox.store import SandboxStore

DEMO_NAMES = frozenset(name for name, *_ in SUBUSERS)
LIST_SHARE = 0.25  # of the additions, those on a recipient's list rather than a bounce
RECIPIENT_LISTS = ("spam_reports", "unsubscribes", "group_unsubscribes")


class Trickle:
    def __init__(self, store: SandboxStore, seconds: float, rng: FastRandom | None = None) -> None:
        if seconds < 0:
            raise ValueError("trickle seconds must not be negative")
        self.store = store
        self.seconds = float(seconds)
        self._rng = rng or FastRandom()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_one(self) -> tuple[str, dict[str, Any]] | None:
        """Write one new bounce now; (subuser, bounce), or None without a demo subuser."""
        active = [
            s["username"]
            for s in self.store.subusers()
            if s["username"] in DEMO_NAMES and not s["disabled"]
        ]
        if not active:
            return None
        subuser = self._rng.choice(sorted(active))
        now = int(time.time())
        if self._rng.random() < LIST_SHARE:
            return subuser, self._add_entry(subuser, now)
        row = {**next(generate_bounces(self._rng, 1, now=now)), "created": now}
        self.store.add_bounces(subuser, [row])
        return subuser, row

    def _add_entry(self, subuser: str, now: int) -> dict[str, Any]:
        """A spam report, unsubscribe or group unsubscribe (of a group the subuser has; without
        one, a global unsubscribe); the row with its `list` (and `group_id`)."""
        kind = self._rng.choice(RECIPIENT_LISTS)
        groups = self.store.lists.groups.groups(subuser) if kind == "group_unsubscribes" else []
        group_id = self._rng.choice(groups)["id"] if groups else None
        if kind == "group_unsubscribes" and group_id is None:
            kind = "unsubscribes"
        row = {**next(generate_entries(kind, self._rng, 1, now=now)), "created": now}
        self.store.add_entries(kind, subuser, [row], group_id=group_id)
        return {**row, "list": kind, "group_id": group_id}

    def start(self) -> None:
        if self.seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-trickle", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.add_one()
            except Exception:  # a demo aid: say what broke, keep trickling
                traceback.print_exc()
