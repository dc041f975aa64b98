"""The sandbox's Event Webhook settings, driven over HTTP as a test would drive SendGrid: its
test control for the plan's cap, and the requests it recorded."""

from __future__ import annotations

import requests

WEBHOOKS = "/v3/user/webhooks/event/settings"


def sandbox_max_webhooks(sandbox, n: int) -> None:
    """Set the plan's `max_allowed` event webhooks per account."""
    response = requests.post(
        f"{sandbox.url}/_sandbox/webhooks/config", json={"max_allowed": n}, timeout=5
    )
    response.raise_for_status()


def webhook_calls(sandbox, *methods: str) -> list[dict]:
    """The webhook settings requests the sandbox recorded (of these methods, if given)."""
    return [
        r
        for r in sandbox.requests
        if r["path"].startswith(WEBHOOKS) and (not methods or r["method"] in methods)
    ]


def writes(sandbox) -> list[dict]:
    return webhook_calls(sandbox, "POST", "PATCH", "DELETE")
