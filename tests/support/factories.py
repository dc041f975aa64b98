"""Small `make_*` helpers for cached data."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from bounceadmin.accounts.models import Operator
from bounceadmin.bounces.classification import bounce_type, classify
from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.refresh.summaries import bounce_summaries_rebuild
from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.models import Suppression, SuppressionGroup
from bounceadmin.webhooks.models import WebhookEvent


def make_subuser(username: str = "acme", **fields) -> Subuser:
    return Subuser.objects.create(username=username, **fields)


def make_bounce(
    subuser: Subuser,
    email: str,
    *,
    status: str = "5.1.1",
    reason: str = "550 5.1.1 The email account that you tried to reach does not exist.",
    created: datetime | None = None,
    removed: bool = False,
) -> Bounce:
    """A cached bounce, with its subuser's summaries rebuilt as every writer of bounces does."""
    now = timezone.now()
    classification, fault = classify(status, reason)
    bounce = Bounce.objects.create(
        subuser=subuser,
        email=email.lower(),
        status=status,
        reason=reason,
        created=created or now - timedelta(hours=1),
        type=bounce_type(status, reason),
        classification=classification,
        fault=fault,
        first_seen=now,
        last_seen=now,
        removed_at=now if removed else None,
    )
    bounce_summaries_rebuild(subuser_id=subuser.pk)
    return bounce


def make_group(
    subuser: Subuser, name: str = "Newsletter", *, upstream_id: int | None = None
) -> SuppressionGroup:
    upstream_id = upstream_id or 1000 + SuppressionGroup.objects.count()
    return SuppressionGroup.objects.create(subuser=subuser, upstream_id=upstream_id, name=name)


def make_suppression(
    subuser: Subuser,
    email: str,
    list: str = SuppressionList.BLOCKS,
    *,
    group: SuppressionGroup | None = None,
    status: str = "",
    reason: str = "",
    ip: str = "",
    created: datetime | None = None,
    removed: bool = False,
) -> Suppression:
    """A cached entry of a list other than bounces (a group unsubscribe when given a group)."""
    now = timezone.now()
    if group is not None:
        list = SuppressionList.GROUP_UNSUBSCRIBES
    return Suppression.objects.create(
        subuser=subuser,
        list=list,
        group=group,
        email=email.lower(),
        status=status,
        reason=reason,
        ip=ip,
        created=created or now - timedelta(hours=1),
        first_seen=now,
        last_seen=now,
        removed_at=now if removed else None,
    )


def make_webhook_event(
    subuser: Subuser,
    email: str,
    *,
    event: str = "bounce",
    type: str = "",  # noqa: A002 - the event's field
    at: datetime | None = None,
    status: str = "",
    reason: str = "",
    classification: str = "",
    outcome: str = WebhookEvent.Outcome.RECORDED,
    save: bool = True,
) -> WebhookEvent:
    """An event as applying a webhook delivery records it (unsaved with `save=False`, for
    bulk_create). For what applying does to the cache, deliver a batch (webhooks.apply)."""
    now = timezone.now()
    made = WebhookEvent(
        subuser=subuser, sg_event_id=f"ev-{next(_event_ids)}", event=event, type=type,
        email=email.lower(), timestamp=at or now - timedelta(minutes=5), status=status,
        reason=reason, classification=classification, received_at=now, outcome=outcome,
    )  # fmt: skip
    if save:
        made.save()
    return made


_event_ids = itertools.count(1)


def make_user(
    username: str = "operator",
    password: str = "pw-for-tests-only",  # noqa: S107
    *,
    role: str | None = "viewer",
    subusers: list[Subuser] | None = None,
    **fields,
):
    """A user with a role (a role group) and a scope: `subusers`, or all when None."""
    user = get_user_model().objects.create_user(username=username, password=password, **fields)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
        operator = Operator.objects.create(user=user, all_subusers=subusers is None)
        operator.subusers.set(subusers or [])
    return user
