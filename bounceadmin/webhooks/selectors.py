"""The overview's webhook columns: each subuser's webhook state, last event, events today,
refused deliveries, and whether it has gone silent while polling still finds bounces. Two
queries for any number of subusers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from bounceadmin.bounces.dates import local_midnight

from .models import WebhookEndpoint, WebhookEvent

# A set-up queued longer than this lost its task (a broker that was down): stop saying queued.
QUEUED_FOR = timedelta(minutes=10)


@dataclass
class WebhookRow:
    state: str  # none, queued, failed, off, unsigned, refusing, on
    label: str
    endpoint: WebhookEndpoint | None = None
    events_today: int = 0
    silent_since: datetime | None = None  # set when silent too long while polling finds bounces

    @property
    def set_up(self) -> bool:
        return self.endpoint is not None and bool(self.endpoint.webhook_id)

    @property
    def last_event_at(self) -> datetime | None:
        return self.endpoint.last_event_at if self.endpoint else None

    @property
    def deferred(self) -> bool:
        return self.endpoint is not None and "deferred" in self.endpoint.events


def webhook_rows(newest_bounce: dict[int, datetime | None]) -> dict[int, WebhookRow]:
    """A WebhookRow for each subuser id in `newest_bounce`, which maps it to its newest active
    bounce as polling found it (BounceActiveCount.newest), for the silence check."""
    ids = list(newest_bounce)
    now = timezone.now()
    midnight = local_midnight(timezone.localdate(now))
    endpoints = {e.subuser_id: e for e in WebhookEndpoint.objects.filter(subuser_id__in=ids)}
    today = dict(
        WebhookEvent.objects.filter(subuser_id__in=ids, received_at__gte=midnight)
        .order_by()
        .values("subuser_id")
        .annotate(n=Count("id"))
        .values_list("subuser_id", "n")
    )
    silence = timedelta(hours=settings.WEBHOOK_SILENCE_HOURS)
    rows = {}
    for pk in ids:
        endpoint = endpoints.get(pk)
        state, label = webhook_state(endpoint, now=now)
        row = WebhookRow(state, label, endpoint, events_today=today.get(pk, 0))
        if row.set_up and endpoint.enabled:
            heard = endpoint.last_event_at or endpoint.set_up_at
            newest = newest_bounce[pk]
            if heard and now - heard > silence and newest and newest > heard:
                row.silent_since = heard
        rows[pk] = row
    return rows


def webhook_state(endpoint: WebhookEndpoint | None, *, now: datetime) -> tuple[str, str]:
    """One state a subuser's webhook is in, most pressing first, and its words."""
    if endpoint is None:
        return "none", "not set up"
    if endpoint.setup_queued_at and now - endpoint.setup_queued_at < QUEUED_FOR:
        return "queued", "set-up queued"
    if endpoint.setup_error:
        return "failed", "set-up failed"
    if not endpoint.webhook_id:
        return "none", "not set up"
    if not endpoint.enabled:
        return "off", "off upstream"
    if not endpoint.receiving:
        return "unsigned", "on, not signed"
    if endpoint.last_refused_at and (
        endpoint.last_delivery_at is None or endpoint.last_refused_at > endpoint.last_delivery_at
    ):
        return "refusing", "refusing deliveries"
    return "on", "on, signed"
