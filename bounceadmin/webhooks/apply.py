"""Applying a subuser's stored batches to the cache: in order, exactly once, under its lease.

The lease is the one refreshes and pushes hold (`bounces/refresh/locks.py`): with it, no refresh
reconciles and no push removes this subuser's rows meanwhile. A batch is applied in one
transaction with its events' records, so a crash applies all of it or none (and the sweeper
applies it again); `sg_event_id` makes a redelivered event count once.

What a bounce event does to the cached row of its address:
- none: the bounce is added, as a refresh would add it;
- active, and the event newer: rewritten (status, reason, time), its old values kept as history;
- removed, and the event newer than the removal: back on the list, a repeat of that removal;
- older than the row, or than its removal: nothing (SendGrid retries deliveries for a day, and a
  late one must not resurrect what was removed since);
- its removal is being pushed right now (an item or a delete_all pushing): nothing; the push,
  then the next refresh, settle it.
Spam reports, unsubscribes, group (re)subscribes and sends dropped as "Invalid" write the other
lists by the same rules (`apply_lists.py`), in the same transaction. Blocks, other drops,
deferrals and every other event are kept as the address's history only.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime
from functools import lru_cache

from django.db import DatabaseError, transaction
from django.utils import timezone

from bounceadmin.bounces.models import Bounce, BounceChange, Subuser
from bounceadmin.bounces.refresh.bulkwrite import bounces_insert, bounces_update
from bounceadmin.bounces.refresh.database import bulk_create_batch, datetime_to_db
from bounceadmin.bounces.refresh.locks import LockLost, SubuserLease
from bounceadmin.bounces.refresh.reconcile import Cached, cached_rows, repeats_of
from bounceadmin.bounces.refresh.summaries import RowChange, SummaryKey, bounce_summaries_patch
from bounceadmin.deletions.models import DeletionItem, DeletionRequest

from .apply_lists import lists_write
from .events import Event, bounce_derived, read_event
from .models import WebhookBatch, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)

Outcome = WebhookEvent.Outcome
# Events applied per transaction, about (whole batches; at least one): on SQLite a transaction
# keeps every other writer waiting, the receiving web process first. A group that fails is then
# tried one batch at a time.
GROUP_EVENTS = 5000
MAX_ATTEMPTS = 5
_NOTES_KEPT = 20


class Busy(Exception):
    """Another writer (a refresh, a push) holds the subuser's lease: try again shortly."""


def batches_apply(subuser_id: int) -> int:
    """Apply the subuser's pending batches, oldest first; returns how many were applied. Busy when
    a refresh or push holds its lease (the batches wait; nothing is lost)."""
    lease = SubuserLease(subuser_id)
    if not lease.acquire():
        raise Busy(f"subuser {subuser_id} is being written by someone else")
    applied = 0
    try:
        while ids := _pending(subuser_id):
            try:
                with transaction.atomic():
                    lease.extend()
                    applied += _apply(subuser_id, ids)
                    lease.extend()
            except LockLost:
                raise Busy(f"the lease of subuser {subuser_id} was lost") from None
            except DatabaseError:
                if len(ids) == 1:
                    _failed(ids[0])
                    raise
                # One batch of the group may be at fault: each alone, so it cannot block the rest.
                for pk in ids:
                    applied += _apply_alone(lease, subuser_id, pk)
    finally:
        lease.release()
    return applied


def _pending(subuser_id: int) -> list[int]:
    """The oldest pending batches, up to about GROUP_EVENTS events."""
    pending = WebhookBatch.objects.filter(subuser_id=subuser_id, state=WebhookBatch.State.PENDING)
    group, events = [], 0
    for pk, n in pending.order_by("id").values_list("pk", "events")[:100]:
        if group and events + n > GROUP_EVENTS:
            break
        group.append(pk)
        events += n
    return group


def _apply_alone(lease: SubuserLease, subuser_id: int, pk: int) -> int:
    try:
        with transaction.atomic():
            lease.extend()
            return _apply(subuser_id, [pk])
    except LockLost:
        raise Busy(f"the lease of subuser {subuser_id} was lost") from None
    except DatabaseError as exc:
        log.exception("webhook batch %s failed to apply", pk)
        _failed(pk, exc)
        return 0


def _failed(pk: int, exc: BaseException | None = None) -> None:
    """Count a failed attempt; after MAX_ATTEMPTS the batch stops being retried (it is kept, with
    its error, and can be applied again once the cause is fixed)."""
    batch = WebhookBatch.objects.filter(pk=pk).first()
    if batch is None:
        return
    batch.attempts += 1
    batch.error = f"{type(exc).__name__}: {exc}"[:2000] if exc else batch.error
    if batch.attempts >= MAX_ATTEMPTS:
        batch.state = WebhookBatch.State.FAILED
    batch.save(update_fields=["attempts", "error", "state"])


def _apply(subuser_id: int, batch_ids: list[int]) -> int:
    """Apply these batches, in the caller's transaction (which holds the lease)."""
    batches = list(
        WebhookBatch.objects.select_for_update()
        .filter(pk__in=batch_ids, state=WebhookBatch.State.PENDING)
        .order_by("id")
    )
    if not batches:
        return 0
    now = timezone.now()
    fresh: list[tuple[WebhookBatch, Event]] = []
    notes: dict[int, list[str]] = {}
    seen: set[str] = set()
    for batch in batches:
        for item in json.loads(batch.body):
            event, adjusted = read_event(item)
            notes.setdefault(batch.pk, []).extend(adjusted)
            if event is not None and event.sg_event_id not in seen:
                seen.add(event.sg_event_id)
                fresh.append((batch, event))
    known = _known_ids(subuser_id, [event.sg_event_id for _, event in fresh])
    fresh = [(batch, event) for batch, event in fresh if event.sg_event_id not in known]
    outcomes = _bounces_write(subuser_id, [event for _, event in fresh], now)
    outcomes.update(lists_write(subuser_id, [event for _, event in fresh], now))
    WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(
                subuser_id=subuser_id, batch=batch, sg_event_id=event.sg_event_id,
                event=event.event, type=event.type, email=event.email, timestamp=event.at,
                status=event.status, reason=event.reason, classification=event.classification,
                asm_group_id=event.group_id, received_at=batch.received_at,
                outcome=outcomes.get(id(event), Outcome.RECORDED),
            )
            for batch, event in fresh
        ],
        batch_size=bulk_create_batch(),
    )  # fmt: skip
    for batch in batches:
        counts = Counter(
            outcomes.get(id(event), Outcome.RECORDED) for b, event in fresh if b is batch
        )
        batch_notes = notes.get(batch.pk, [])
        batch.outcome = {
            **counts,
            "duplicates": batch.events - sum(counts.values()) - _set_aside(batch_notes),
            "set_aside": _set_aside(batch_notes),
            "notes": batch_notes[:_NOTES_KEPT],
        }
        batch.state, batch.applied_at = WebhookBatch.State.APPLIED, now
    WebhookBatch.objects.bulk_update(batches, ["state", "applied_at", "outcome"])
    if fresh:
        newest = max(event.at for _, event in fresh)
        endpoint = WebhookEndpoint.objects.filter(subuser_id=subuser_id)
        endpoint.filter(last_event_at__lt=newest).update(last_event_at=newest)
        endpoint.filter(last_event_at__isnull=True).update(last_event_at=newest)
    return len(batches)


def _set_aside(notes: list[str]) -> int:
    return sum(": set aside: " in note for note in notes)


def _known_ids(subuser_id: int, ids: list[str]) -> set[str]:
    known: set[str] = set()
    events = WebhookEvent.objects.filter(subuser_id=subuser_id)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        known.update(events.filter(sg_event_id__in=chunk).values_list("sg_event_id", flat=True))
    return known


def _bounces_write(subuser_id: int, events: list[Event], now: datetime) -> dict[int, str]:
    """Write the bounce events to the cache; the outcome of each bounce event, by id(event)."""
    bounces = [event for event in events if event.is_bounce]
    if not bounces:
        return {}
    # The newest event of each address decides; the others of the batch are older than it.
    newest: dict[str, Event] = {}
    for event in bounces:
        if event.email not in newest or event.timestamp > newest[event.email].timestamp:
            newest[event.email] = event
    outcomes = {id(event): Outcome.OLDER for event in bounces}
    held = _pushing(subuser_id, list(newest))
    subuser = Subuser.objects.get(pk=subuser_id)
    rows = cached_rows(subuser, [email for email in newest if email not in held])
    to_db, stamp = datetime_to_db(), datetime_to_db()(now)
    new, changed, history, back = [], [], [], []
    for email, event in newest.items():
        row = rows.get(email)
        if email in held:
            outcome = Outcome.HELD
        elif row is None:
            new.append(event)
            outcome = Outcome.CREATED
        elif not _newer(event, row):
            outcome = Outcome.UNCHANGED if _same(event, row) else Outcome.OLDER
        else:
            reappeared = row.removed_at is not None
            changed.append((event, row))
            back += [row] if reappeared else []
            kind = BounceChange.Kind.REAPPEARED if reappeared else BounceChange.Kind.CHANGED
            history.append(
                BounceChange(
                    bounce_id=row.pk, kind=kind, at=now, old_status=row.status,
                    old_reason=row.reason, old_created=row.created,
                )
            )  # fmt: skip
            outcome = Outcome.REACTIVATED if reappeared else Outcome.UPDATED
        outcomes[id(event)] = outcome
    repeats = repeats_of(back, subuser)
    summary = _summary_changes(new, changed)
    bounces_update(
        [
            (event.status, event.reason, to_db(event.at), *_derived(event), None,
             repeats.get(row.pk, row.repeat_of_id), stamp, row.pk)
            for event, row in changed
        ]
    )  # fmt: skip
    bounces_insert(
        [
            (subuser_id, event.email, event.status, event.reason, to_db(event.at),
             *_derived(event), stamp, stamp)
            for event in new
        ]
    )  # fmt: skip
    BounceChange.objects.bulk_create(history, batch_size=bulk_create_batch())
    bounce_summaries_patch(subuser_id, summary)
    return outcomes


def _summary_changes(new: list[Event], changed: list[tuple[Event, Cached]]) -> list[RowChange]:
    """What the writes will change in the overview's summaries (read before they are made)."""
    ids = [row.pk for _, row in changed]
    was = {
        pk: (kind, classification)
        for pk, kind, classification in Bounce.objects.filter(pk__in=ids).values_list(
            "pk", "type", "classification"
        )
    }
    changes = [RowChange(None, _key(event)) for event in new]
    for event, row in changed:
        kind, classification = was[row.pk]
        before = SummaryKey(row.created, kind, classification, row.removed_at is None)
        changes.append(RowChange(before, _key(event)))
    return changes


def _key(event: Event) -> SummaryKey:
    kind, classification, _ = _derived(event)
    return SummaryKey(event.at, kind, classification, True)


def _derived(event: Event) -> tuple[str, str, str]:
    """`bounce_derived`, worked out once per distinct (status, reason, classification)."""
    return _derive_cached(event.status, event.reason, event.classification)


@lru_cache(maxsize=4096)
def _derive_cached(status: str, reason: str, classification: str) -> tuple[str, str, str]:
    return bounce_derived(Event("", "bounce", "bounce", "", 0.0, status, reason, classification))


def _newer(event: Event, row: Cached) -> bool:
    """Whether the event is news for the row: a bounce after the cached one, or after its
    removal when it was removed."""
    if row.removed_at is not None:
        return event.at > row.removed_at
    return event.at > row.created


def _same(event: Event, row: Cached) -> bool:
    return row.removed_at is None and event.at == row.created


def _pushing(subuser_id: int, emails: list[str]) -> set[str]:
    """Those of `emails` whose removal from this subuser's list is being pushed right now."""
    if DeletionRequest.objects.filter(
        subuser_id=subuser_id,
        list="bounces",
        delete_all=True,
        state=DeletionRequest.State.PUSHING,
    ).exists():
        return set(emails)
    pushing: set[str] = set()
    items = DeletionItem.objects.filter(
        request__subuser_id=subuser_id, request__list="bounces", state=DeletionItem.State.PUSHING
    )
    for i in range(0, len(emails), 500):
        chunk = emails[i : i + 500]
        pushing.update(items.filter(email__in=chunk).values_list("email", flat=True))
    return pushing
