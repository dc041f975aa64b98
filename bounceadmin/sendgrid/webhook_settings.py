"""SendGrid's Event Webhook settings as the client reads them: the events a webhook can send,
a webhook, a subuser's list of them, and reading each from an answer written upstream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import BadResponse

# The events an Event Webhook can send, each a boolean of its settings (SendGrid's OpenAPI,
# EventWebhookRequest).
WEBHOOK_EVENTS = (
    "bounce", "click", "deferred", "delivered", "dropped", "group_resubscribe",
    "group_unsubscribe", "open", "processed", "spam_report", "unsubscribe",
)  # fmt: skip
_WEBHOOKS = "/v3/user/webhooks/event/settings"


@dataclass(frozen=True, slots=True)
class UpstreamWebhook:
    id: str
    url: str
    enabled: bool
    events: frozenset[str]  # those of WEBHOOK_EVENTS turned on
    friendly_name: str
    public_key: str  # "" unless signing is on (the list includes it only then)


@dataclass(frozen=True, slots=True)
class UpstreamWebhooks:
    """A subuser's Event Webhooks, and how many its plan allows (None when not said)."""

    max_allowed: int | None
    webhooks: list[UpstreamWebhook]


def _webhook(item: Any, what: str, subuser: str) -> UpstreamWebhook:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        raise BadResponse(f"{what}: a webhook without an id", subuser=subuser)
    return UpstreamWebhook(
        id=item["id"],
        url=str(item.get("url") or ""),
        enabled=item.get("enabled") is True,
        events=frozenset(name for name in WEBHOOK_EVENTS if item.get(name) is True),
        friendly_name=str(item.get("friendly_name") or ""),
        public_key=str(item.get("public_key") or ""),
    )


def _public_key(data: Any, what: str, subuser: str) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("public_key", ""), str):
        raise BadResponse(f"{what}: expected an object with a public_key", subuser=subuser)
    return data.get("public_key") or ""
