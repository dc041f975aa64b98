"""A subuser whose last `failures_in_row` bounce refreshes all failed (a revoked permission, a
subuser gone upstream, an outage that outlasted the retries). A running refresh is neither."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Window
from django.db.models.functions import RowNumber

from bounceadmin.alerts.models import AlertRule
from bounceadmin.bounces.models import RefreshRun

from .finding import Finding, iso, watched_subusers

ERROR_CHARS = 300  # of the last run's error, kept in the details


def findings(rule: AlertRule, *, now: datetime) -> list[Finding]:
    names = watched_subusers(rule)
    wanted = rule.failures_in_row
    # Each subuser's newest `wanted` finished runs, in one query (a window function filtered
    # on, which Django wraps in a subquery), through the (subuser, -started_at) index.
    newest = (
        RefreshRun.objects.filter(
            subuser_id__in=list(names),
            list="bounces",
            outcome__in=[RefreshRun.Outcome.OK, RefreshRun.Outcome.FAILED],
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("subuser_id")],
                order_by=[F("started_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=wanted)
        .values_list("subuser_id", "outcome", "started_at", "error", "rank")
    )
    runs: dict[int, list[tuple]] = {}
    for subuser_id, outcome, started_at, error, rank in newest:
        runs.setdefault(subuser_id, []).append((rank, outcome, started_at, error))
    found = []
    for subuser_id, theirs in runs.items():
        theirs.sort()
        if len(theirs) < wanted or any(o != RefreshRun.Outcome.FAILED for _, o, _, _ in theirs):
            continue
        username = names[subuser_id]
        first, last = theirs[-1][2], theirs[0][2]
        found.append(
            Finding(
                subuser_id=subuser_id,
                subject="",
                since=first,
                value=len(theirs),
                baseline=wanted,
                summary=f"Refreshes of {username} failed {wanted} times in a row",
                details={
                    "subuser": username,
                    "since": iso(first),
                    "until": iso(now),
                    "last_failed_at": iso(last),
                    "last_error": theirs[0][3][:ERROR_CHARS],
                },
            )
        )
    return found
