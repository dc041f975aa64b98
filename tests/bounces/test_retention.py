"""Refresh runs that changed nothing are pruned after REFRESH_QUIET_RUN_DAYS; runs that changed
something or failed, and each subuser's and list's last run, are kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import BounceChange, RefreshRun
from bounceadmin.bounces.retention import refresh_runs_prune
from bounceadmin.bounces.tasks import prune_refresh_runs
from bounceadmin.suppressions.models import SuppressionListState
from tests.support.factories import make_bounce, make_subuser

pytestmark = pytest.mark.django_db


def _run(subuser, days_ago, *, outcome=RefreshRun.Outcome.OK, list="bounces", **counts):
    return RefreshRun.objects.create(
        subuser=subuser,
        kind="incremental",
        list=list,
        started_at=timezone.now() - timedelta(days=days_ago),
        outcome=outcome,
        **counts,
    )


def test_old_quiet_runs_go_and_the_rest_stay(settings):
    settings.REFRESH_QUIET_RUN_DAYS = 14
    acme = make_subuser("acme")
    old_quiet = [_run(acme, 20), _run(acme, 15, list="blocks")]
    recent_quiet = _run(acme, 13)
    changed = _run(acme, 30, created=3)
    failed = _run(acme, 30, outcome=RefreshRun.Outcome.FAILED)
    set_aside = _run(acme, 30, set_aside=1)
    last_bounces = _run(acme, 40)
    last_blocks = _run(acme, 40, list="blocks")
    acme.last_refresh = last_bounces
    acme.save(update_fields=["last_refresh"])
    SuppressionListState.objects.create(subuser=acme, list="blocks", last_refresh=last_blocks)

    assert refresh_runs_prune() == len(old_quiet)

    left = set(RefreshRun.objects.values_list("pk", flat=True))
    assert left == {
        r.pk for r in (recent_quiet, changed, failed, set_aside, last_bounces, last_blocks)
    }
    assert refresh_runs_prune() == 0  # nothing more to prune


def test_a_pruned_run_leaves_the_history_that_named_it(settings):
    """History rows point at their run; a quiet run has none, but if one did, the row stays."""
    settings.REFRESH_QUIET_RUN_DAYS = 1
    acme = make_subuser("acme")
    bounce = make_bounce(acme, "pat@example.com")
    run = _run(acme, 5)
    change = BounceChange.objects.create(
        bounce=bounce, run=run, kind=BounceChange.Kind.CHANGED, at=timezone.now()
    )
    assert prune_refresh_runs() == 1  # the task runs the same service
    change.refresh_from_db()
    assert change.run_id is None
