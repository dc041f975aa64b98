"""Importing the parent account's subusers from SendGrid."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from bounceadmin.sendgrid import SendGridClient, get_client

from .models import Subuser


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    updated: list[str]
    gone: list[str]


@transaction.atomic
def subusers_sync(*, client: SendGridClient | None = None) -> SyncResult:
    """Create or update a Subuser for every subuser SendGrid lists, with its region (which
    routes its calls); flag the ones it no longer lists. Cached bounces are never dropped here.
    The parent account is not listed, and stays global."""
    upstream = (client or get_client()).list_subusers()
    known = {s.username: s for s in Subuser.objects.filter(is_parent=False)}
    created: list[Subuser] = []
    updated: list[Subuser] = []
    for item in upstream:
        state = Subuser.UpstreamState.DISABLED if item.disabled else Subuser.UpstreamState.ACTIVE
        subuser = known.pop(item.username, None)
        if subuser is None:
            created.append(
                Subuser(
                    username=item.username,
                    sendgrid_id=item.id,
                    email=item.email,
                    upstream_state=state,
                    region=item.region,
                )
            )
            continue
        fresh = (item.id, item.email, state, item.region)
        if (subuser.sendgrid_id, subuser.email, subuser.upstream_state, subuser.region) != fresh:
            subuser.sendgrid_id, subuser.email, subuser.upstream_state, subuser.region = fresh
            updated.append(subuser)
    gone = [s for s in known.values() if s.upstream_state != Subuser.UpstreamState.GONE]
    for subuser in gone:
        subuser.upstream_state = Subuser.UpstreamState.GONE
    if settings.SENDGRID_PARENT_LISTS and not Subuser.objects.filter(is_parent=True).exists():
        # The parent account's own lists, cached beside its subusers' and scoped like one.
        created.append(Subuser(username=settings.SENDGRID_PARENT_NAME, is_parent=True))
    Subuser.objects.bulk_create(created)
    fields = ["sendgrid_id", "email", "upstream_state", "region"]
    Subuser.objects.bulk_update(updated + gone, fields)
    return SyncResult(
        created=[s.username for s in created],
        updated=[s.username for s in updated],
        gone=[s.username for s in gone],
    )
