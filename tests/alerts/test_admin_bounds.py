"""The rule form refuses thresholds too large to mean anything, which would break the rule's
date arithmetic (a timedelta off now); the largest it accepts evaluates."""

from datetime import timedelta

import pytest

from bounceadmin.alerts.admin import AlertRuleForm
from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import AlertRule
from tests.support.factories import make_subuser

from .helpers import NOW, add_baseline, add_bounces

pytestmark = pytest.mark.django_db
HUGE = "2147483647"
MAX_MINUTES = 365 * 24 * 60  # a year


def form_data(kind="bounce_spike", **fields):
    data = {"name": "x", "kind": kind, "enabled": "on", "notify": "on", "cooldown_minutes": "60",
            "window_minutes": "60", "baseline_days": "14", "min_count": "20", "factor": "3",
            "share_jump": "0.2", "failures_in_row": "3", "silent_minutes": "240"}  # fmt: skip
    data.update(fields)
    return data


@pytest.mark.parametrize(
    "field",
    ["cooldown_minutes", "silent_minutes", "window_minutes", "baseline_days", "failures_in_row",
     "min_count"],
)  # fmt: skip
def test_a_huge_threshold_is_refused_with_a_clear_error(field):
    form = AlertRuleForm(data=form_data(**{field: HUGE}))
    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert form.errors[field][0].startswith(("Between", "At most"))


def test_a_year_is_the_most():
    assert not AlertRuleForm(data=form_data(cooldown_minutes=str(MAX_MINUTES + 1))).is_valid()
    assert AlertRuleForm(data=form_data(cooldown_minutes=str(MAX_MINUTES))).is_valid()


@pytest.mark.parametrize("kind", [k.value for k in AlertRule.Kind])
def test_the_largest_accepted_thresholds_evaluate(kind):
    AlertRule.objects.all().delete()
    form = AlertRuleForm(data=form_data(kind, cooldown_minutes=str(MAX_MINUTES),
                                        silent_minutes=str(MAX_MINUTES), window_minutes="1440",
                                        baseline_days="60"))  # fmt: skip
    assert form.is_valid(), form.errors
    form.save()
    acme = make_subuser("acme")
    add_baseline(acme, 2)
    add_bounces(acme, 30, at=NOW - timedelta(minutes=5))
    first = evaluate_alerts(now=NOW)
    assert first.failed_rules == []
    # Resolved, then the year-long cooldown's query runs too.
    later = evaluate_alerts(now=NOW + timedelta(days=3))
    assert later.failed_rules == []
