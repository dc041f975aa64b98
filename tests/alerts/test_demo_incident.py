"""`make run`'s demo shows an incident: the sandbox's demo data holds an Outlook blocklisting of
initech-billing under way, which the default alert rules (a data migration) raise from the
cache once it is refreshed, while the other demo subusers stay quiet."""

import importlib

import pytest
from django.utils import timezone

from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.bounces.models import Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.sandbox import seed_demo

pytestmark = pytest.mark.django_db
DEFAULTS = importlib.import_module("bounceadmin.alerts.migrations.0003_default_rules")


def test_the_demo_incident_raises_alerts_with_the_default_rules(upstream, sg):
    now = timezone.now()
    seed_demo(upstream.store, now=now.timestamp())
    for fields in DEFAULTS.DEFAULT_RULES:  # as the migration makes them (tests flush data)
        AlertRule.objects.get_or_create(name=fields["name"], defaults=fields)
    subusers_sync()
    for subuser in Subuser.objects.filter(is_parent=False, upstream_state="active"):
        bounces_refresh(subuser=subuser, full=True, client=sg)

    evaluate_alerts(now=now)

    alerts = Alert.objects.filter(state=Alert.State.OPEN)
    assert {a.subuser.username for a in alerts} == {"initech-billing"}
    kinds = {a.kind for a in alerts}
    assert {"classification_spike", "domain_spike"} <= kinds
    domain = alerts.get(kind="domain_spike")
    assert domain.subject == "outlook.com" and domain.value >= 60
