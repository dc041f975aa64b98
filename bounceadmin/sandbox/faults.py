"""Injected faults: the failure modes a SendGrid client must survive, on demand and in order.

Faults sit in a FIFO queue. Each request takes the first fault that matches it (method, path
prefix, on-behalf-of subuser) and uses up one of its `count` hits, so a test can script "two
503s, then a reset, then success" precisely.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

# status    answer with `status` (and an errors body) instead of handling the request
# timeout   sleep `seconds`, then answer normally (the client's read timeout should fire first)
# reset     close the connection (TCP RST) without answering; nothing is processed
# bad_json  process the request, then answer 200 with a body that is not JSON
# truncated process the request, then send a Content-Length larger than the body and hang up
#           (a bodiless reply such as 204 is cut inside its status line instead)
FAULT_KINDS = ("status", "timeout", "reset", "bad_json", "truncated")
DEFAULT_TIMEOUT_SECONDS = 10.0


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        known = {"kind", "count", "status", "method", "path", "subuser", "seconds", "reset"}
        unknown = set(data) - known
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
        """Consume one hit of the first matching fault; None when nothing matches."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.matches(method, path, subuser):
                    fault.count -= 1
                    if fault.count == 0:
                        del self._faults[i]
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]
