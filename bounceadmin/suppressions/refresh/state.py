"""Each list's state for the pages: its last refresh, when one last succeeded, and its active
entries and newest one (counted by the refresh that changed them, never by a page)."""

from __future__ import annotations

from django.db.models import Count, Max

from bounceadmin.bounces.models import RefreshRun, Subuser

from ..models import Suppression, SuppressionListState


def list_state_started(subuser: Subuser, name: str, run: RefreshRun) -> None:
    SuppressionListState.objects.update_or_create(
        subuser=subuser, list=name, defaults={"last_refresh": run}
    )


def list_state_finished(run: RefreshRun) -> None:
    if run.outcome == RefreshRun.Outcome.OK:
        SuppressionListState.objects.filter(subuser_id=run.subuser_id, list=run.list).update(
            last_success_at=run.finished_at
        )


def list_state_recount(subuser: Subuser, name: str) -> None:
    """The list's active entries and the newest of them, counted again (in the write's
    transaction, after the write)."""
    counted = Suppression.objects.filter(
        subuser=subuser, list=name, removed_at__isnull=True
    ).aggregate(active=Count("pk"), newest=Max("created"))
    SuppressionListState.objects.update_or_create(subuser=subuser, list=name, defaults=counted)
