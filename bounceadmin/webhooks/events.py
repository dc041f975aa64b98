"""Reading the events of a delivery: data written by strangers, read by the same rules as a
bounce list's entries (`sendgrid/entries.py`): what can be stored is, adjusted where a column
cannot hold it as sent; an event that cannot be stored is set aside with a note, never failing
the rest of its batch."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from bounceadmin.bounces.classification import Classification, Fault, bounce_type, classify
from bounceadmin.sendgrid.entries import entry_label, read_entry, storable_text

MAX_EVENT_ID = 100  # the WebhookEvent.sg_event_id column
MAX_NAME = 32  # event and type names: SendGrid's are short
MAX_CLASSIFICATION = 64  # the WebhookEvent.classification column
MAX_IP = 64  # the Suppression.ip column
MAX_GROUP_ID = 2**63 - 1  # SuppressionGroup.upstream_id, a BigIntegerField

# The events that put an address on (or, a resubscribe, take it off) one of the other lists, by
# the list (suppressions.lists.SuppressionList). A `dropped` event is SendGrid refusing to send to
# an address already suppressed; only the reason "Invalid" names a list the cache may not know of
# yet (SendGrid's invalid list: "Bounced Address", "Unsubscribed Address" and "Spam Reporting
# Address" name lists whose own events come separately).
LIST_OF_EVENT = {
    "spamreport": "spam_reports",
    "unsubscribe": "global_unsubscribes",
    "group_unsubscribe": "group_unsubscribes",
    "group_resubscribe": "group_unsubscribes",
}
GROUP_EVENTS = frozenset({"group_unsubscribe", "group_resubscribe"})
INVALID_DROP = "invalid"  # the drop reason, lowercased

# The Event Webhook names some classifications other than the suppression API does
# (SendGrid's blog of 2022-05-18 and its event reference): both spellings map to ours.
WEBHOOK_CLASSIFICATIONS = {
    "invalid address": Classification.INVALID_ADDRESS,
    "mailbox unavailable": Classification.MAILBOX_UNAVAILABLE,
    "technical": Classification.TECHNICAL_FAILURE,
    "technical failure": Classification.TECHNICAL_FAILURE,
    "reputation": Classification.REPUTATION,
    "content": Classification.CONTENT,
    "frequency/volume": Classification.FREQUENCY_OR_VOLUME,
    "frequency or volume": Classification.FREQUENCY_OR_VOLUME,
    "frequency or volume too high": Classification.FREQUENCY_OR_VOLUME,
}
# Whose fault SendGrid's class is, where the class says (rules.py: "Fault").
_FAULT_OF = {
    Classification.INVALID_ADDRESS: Fault.RECIPIENT,
    Classification.MAILBOX_UNAVAILABLE: Fault.RECIPIENT,
    Classification.REPUTATION: Fault.SENDER,
    Classification.CONTENT: Fault.SENDER,
    Classification.FREQUENCY_OR_VOLUME: Fault.SENDER,
}


class Event(NamedTuple):
    sg_event_id: str
    event: str
    type: str
    email: str
    timestamp: float  # Unix seconds
    status: str
    reason: str
    classification: str  # SendGrid's, as sent ("" when absent)
    group_id: int | None = None  # asm_group_id, of group (re)subscribe events
    ip: str = ""  # who reported spam, as sent

    @property
    def list_name(self) -> str | None:
        """The other list this event writes to, if any (bounces are `is_bounce`)."""
        if self.event == "dropped":
            return "invalid_emails" if self.reason.strip().lower() == INVALID_DROP else None
        return LIST_OF_EVENT.get(self.event)

    @property
    def is_bounce(self) -> bool:
        """A bounce proper (not a block): it belongs on the subuser's bounce list."""
        return self.event == "bounce" and self.type in ("bounce", "")

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=UTC)


def read_event(item: Any) -> tuple[Event | None, list[str]]:
    """One event as it can be stored (None when it cannot: the notes say why)."""
    if not isinstance(item, dict):
        return None, [f"set aside: not an object but {type(item).__name__}"]
    if not item.get("reason") and item.get("response"):
        item = {**item, "reason": item["response"]}  # a deferral's reply is its `response`
    entry, notes, set_aside = read_entry(item, time_field="timestamp")
    label = entry_label(entry.email if entry is not None else repr(item)[:200])
    notes = [f"{label}: {note}" for note in notes]
    if entry is None or set_aside:
        return None, notes
    event = _name(item.get("event"))
    if not event:
        return None, [*notes, f"{label}: set aside: no event name"]
    group_id = None
    if event in GROUP_EVENTS:
        group_id = _group_id(item.get("asm_group_id"))
        if group_id is None:
            shown = storable_text(repr(item.get("asm_group_id")))[:40]
            return None, [*notes, f"{label}: set aside: {event} without a usable asm_group_id"
                                  f" ({shown})"]  # fmt: skip
    return (
        Event(
            sg_event_id=_event_id(item),
            event=event,
            type=_name(item.get("type")),
            email=entry.email,
            timestamp=entry.created,
            status=entry.status,
            reason=entry.reason,
            classification=_text(item.get("bounce_classification"), MAX_CLASSIFICATION),
            group_id=group_id,
            ip=_text(item.get("ip"), MAX_IP) if event == "spamreport" else "",
        ),
        notes,
    )


def bounce_derived(event: Event) -> tuple[str, str, str]:
    """Type, classification and fault of a bounce event: SendGrid's own classification when it
    names one of the six definite classes, our rules otherwise (and for the fault where SendGrid's
    class does not decide it: a Technical Failure may be the sender's or the network's)."""
    ours, fault = classify(event.status, event.reason)
    theirs = WEBHOOK_CLASSIFICATIONS.get(event.classification.lower())
    if theirs is not None and theirs != ours:
        ours, fault = theirs, _FAULT_OF.get(theirs, Fault.UNKNOWN)
    return bounce_type(event.status, event.reason), ours, fault


def _name(value: Any) -> str:
    return _text(value, MAX_NAME).lower()


def _text(value: Any, limit: int) -> str:
    return storable_text(value)[:limit].strip() if isinstance(value, str) else ""


def _group_id(value: Any) -> int | None:
    """A positive integer, as SendGrid writes group ids (a bool, a float or a string is not)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_GROUP_ID:
        return value
    return None


def _event_id(item: dict) -> str:
    """SendGrid's sg_event_id; for an event without a usable one, a digest of the event itself,
    so that its redelivery is still recognised."""
    value = item.get("sg_event_id")
    if isinstance(value, str) and 0 < len(value) <= MAX_EVENT_ID and storable_text(value) == value:
        return value
    digest = hashlib.sha256(
        json.dumps(item, sort_keys=True, default=str, ensure_ascii=True).encode()
    ).hexdigest()
    return f"sha256:{digest}"
