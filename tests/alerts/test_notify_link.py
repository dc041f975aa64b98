"""The notification's bounce-list link is the alert page's: the subuser from the alert's own
subuser, not a name copied into its details (which a rename leaves behind)."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from bounceadmin.alerts import incident
from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.alerts.notify import bounces_url
from tests.support.factories import make_subuser

from .helpers import NOW, add_baseline, add_bounces, make_rule

pytestmark = pytest.mark.django_db


def test_the_link_names_the_alerts_subuser_as_the_page_does(settings):
    settings.SITE_URL = "https://dash.example/"
    acme = make_subuser("acme")
    add_baseline(acme, 2)
    add_bounces(acme, 30, at=NOW - timedelta(minutes=5))
    make_rule(AlertRule.Kind.BOUNCE_SPIKE)
    evaluate_alerts(now=NOW)
    alert = Alert.objects.get()
    details = dict(alert.details)
    details["subuser"] = "someone-else"  # stale, or never there
    Alert.objects.filter(pk=alert.pk).update(details=details)
    alert = Alert.objects.select_related("subuser").get()
    link = urlsplit(bounces_url(alert))
    assert parse_qs(link.query)["subuser"] == ["acme"]
    assert link.path + "?" + link.query == incident.bounces_url(alert)
