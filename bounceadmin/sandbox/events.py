"""Event Webhook events as SendGrid writes them: a bounce row turned into a `bounce` event, a
spam report or unsubscribe into its event, the ids SendGrid adds to every event, and which
webhook setting covers which event.

Fields follow SendGrid's Event Webhook reference; real payloads lack fields now and then
(`bounce_classification` above all, sometimes `status`), so a share of the events made here leave
`bounce_classification` out, and a few carry `category` as an array, as real ones do.
"""

from __future__ import annotations

import base64
import random
import re
import time
from typing import Any

from bounceadmin.sandbox.liststore import DEFAULTS
from bounceadmin.sandbox.store import Bounce

# The event name -> the webhook setting that turns it on. Block events are `bounce` events with
# `type: "blocked"`, so they follow the `bounce` setting too.
FLAG_OF_EVENT = {
    "processed": "processed",
    "deferred": "deferred",
    "delivered": "delivered",
    "bounce": "bounce",
    "dropped": "dropped",
    "open": "open",
    "click": "click",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "group_unsubscribe",
    "group_resubscribe": "group_resubscribe",
    "account_status_change": "account_status_change",
}
CATEGORIES = ("transactional", "receipt", "password-reset", "newsletter", "promo", "alerts")
OMIT_CLASSIFICATION = 0.15  # the share of bounce events sent without bounce_classification
CATEGORY_ARRAY = 0.1  # the share whose category is a one-item array

# The Event Webhook's classification names (not the suppression API's), first match wins.
_CLASSES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(words, re.IGNORECASE))
    for name, words in (
        ("Content", r"content|virus|unsolicited|\bspam\b|url in message|size exceeds"),
        ("Reputation", r"spamhaus|spamcop|blocked using|block ?list|black ?list|banned|"
                       r"\[BL\d+\]|reputation"),
        ("Mailbox Unavailable", r"over ?quota|mailbox full|storage limit|disabled|suspended|"
                                r"inactive"),
        ("Frequency/Volume", r"\brate\b|too many|volume|concurrent|try again later|busy|"
                             r"throttl"),
        ("Technical", r"\bdns\b|resolve mx|host unknown|name server|nonexistent domain|"
                      r"bad destination|\btls\b|starttls|certificate|encryption|relay|"
                      r"authenticat|dmarc|dkim|\bspf\b|configuration|connection refused|"
                      r"expired|timed out"),
        ("Invalid Address", r"not exist|user unknown|unknown user|unknown or illegal|unbekannt|"
                            r"not found|no mailbox|no such user|recipnotfound|invalid recipient|"
                            r"mailbox unavailable|doesn't have a|AS\(201806281\)"),
    )
]  # fmt: skip


def classify(reason: str) -> str:
    """A keyword guess at the Event Webhook's `bounce_classification` for a reply text."""
    for name, pattern in _CLASSES:
        if pattern.search(reason):
            return name
    return "Unclassified"


def event_id(rng: random.Random) -> str:
    """A 22-character url-safe base64 id, like SendGrid's `sg_event_id` without its padding."""
    return base64.urlsafe_b64encode(rng.randbytes(16)).decode("ascii").rstrip("=")


def _message_ids(rng: random.Random) -> tuple[str, str]:
    """(`smtp-id`, `sg_message_id`) of one message, in SendGrid's shapes."""
    core = f"{rng.getrandbits(44):011x}.{rng.getrandbits(12):03x}.{rng.getrandbits(24):06x}"
    smtp_id = f"<{core}@ismtpd-{rng.randint(1, 999)}>"
    message_id = f"{core}.filter{rng.randint(1, 9999):04d}.{rng.randint(10000, 99999)}."
    return smtp_id, message_id + f"{rng.getrandbits(36):09X}.0"


def _category(rng: random.Random) -> str | list[str]:
    category = rng.choice(CATEGORIES)
    return [category] if rng.random() < CATEGORY_ARRAY else category


def bounce_event(bounce: Bounce, rng: random.Random) -> dict[str, Any]:
    """The `bounce` event SendGrid posts when it adds `bounce` to a suppression list."""
    smtp_id, message_id = _message_ids(rng)
    event: dict[str, Any] = {
        "email": bounce["email"],
        "timestamp": int(bounce["created"]),
        "smtp-id": smtp_id,
        "event": "bounce",
        "category": _category(rng),
        "sg_event_id": event_id(rng),
        "sg_message_id": message_id,
        "reason": bounce["reason"],
        "status": bounce["status"],
        "type": "bounce",
    }
    if rng.random() >= OMIT_CLASSIFICATION:
        event["bounce_classification"] = classify(bounce["reason"])
    return event


# The lists whose entries a recipient makes, and the event SendGrid posts for each.
EVENT_OF_LIST = {
    "spam_reports": "spamreport",
    "unsubscribes": "unsubscribe",
    "group_unsubscribes": "group_unsubscribe",
}
USER_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"


def list_event(
    kind: str, entry: dict[str, Any], rng: random.Random, group_id: int | None = None
) -> dict[str, Any] | None:
    """The event SendGrid posts when a recipient put `entry` on list `kind` (None for a list no
    recipient writes: blocks, invalid emails). Its time is the entry's, as upstream's list says."""
    name = EVENT_OF_LIST.get(kind)
    if name is None:
        return None
    smtp_id, message_id = _message_ids(rng)
    event: dict[str, Any] = {
        "email": str(entry["email"]).strip().lower(),
        "timestamp": int(entry["created"]),
        "smtp-id": smtp_id,
        "event": name,
        "category": _category(rng),
        "sg_event_id": event_id(rng),
        "sg_message_id": message_id,
    }
    if name == "spamreport":  # the address that reported, as the list stores it
        event["ip"] = str(entry.get("ip") or DEFAULTS["ip"])
    if name == "group_unsubscribe":
        ip = f"198.51.100.{rng.randint(1, 254)}"  # the recipient's, from the preferences page
        event.update(asm_group_id=group_id, useragent=USER_AGENT, ip=ip)
    return event


def complete(event: dict[str, Any], rng: random.Random, now: float | None = None) -> dict[str, Any]:
    """A caller's event with what SendGrid always adds: sg_event_id, timestamp, smtp-id."""
    out = dict(event)
    out.setdefault("sg_event_id", event_id(rng))
    out.setdefault("timestamp", int(time.time() if now is None else now))
    out.setdefault("smtp-id", _message_ids(rng)[0])
    return out


def flag_of(event: dict[str, Any]) -> str | None:
    """The webhook setting that covers this event (None for a name SendGrid does not send)."""
    return FLAG_OF_EVENT.get(str(event.get("event")))
