"""How long refresh runs are kept. Every subuser records a run per list each time it refreshes
(six every 15 minutes by default): the runs that changed nothing are noise after
REFRESH_QUIET_RUN_DAYS and are deleted. Runs that changed something or failed stay (the history
of every changed address links to its run), as does the last run of each subuser and list."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from bounceadmin.suppressions.models import SuppressionListState

from .models import RefreshRun, Subuser

_CHUNK = 5000
_CHANGED_NOTHING = dict.fromkeys(
    ("created", "updated", "removed", "reappeared", "adjusted", "set_aside"), 0
)


def refresh_runs_prune(*, now=None) -> int:
    """Delete the quiet runs older than REFRESH_QUIET_RUN_DAYS; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.REFRESH_QUIET_RUN_DAYS)
    kept = {
        *Subuser.objects.exclude(last_refresh=None).values_list("last_refresh_id", flat=True),
        *SuppressionListState.objects.exclude(last_refresh=None).values_list(
            "last_refresh_id", flat=True
        ),
    }
    quiet = RefreshRun.objects.filter(
        outcome=RefreshRun.Outcome.OK, started_at__lt=cutoff, **_CHANGED_NOTHING
    ).exclude(pk__in=kept)
    total = 0
    # In chunks: one long DELETE would keep SQLite's writers (the refreshes) waiting.
    while ids := list(quiet.values_list("pk", flat=True)[:_CHUNK]):
        total += RefreshRun.objects.filter(pk__in=ids).delete()[0]
    return total
