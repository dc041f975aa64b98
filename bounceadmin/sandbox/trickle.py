"""The demo trickle: a new realistic bounce every few seconds, so a running demo keeps moving.

Each one goes to a random active demo subuser that the store holds (none held: nothing happens)
and is written through `SandboxStore.add_bounces`, the path every bounce takes, so the Event
Webhook delivers it like any other.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from bounceadmin.sandbox.demo import SUBUSERS, FastRandom, generate_bounces
from bounceadmin.sandbox.store import SandboxStore

DEMO_NAMES = frozenset(name for name, *_ in SUBUSERS)


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
        row = {**next(generate_bounces(self._rng, 1, now=now)), "created": now}
        self.store.add_bounces(subuser, [row])
        return subuser, row

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
