"""In a browser: a spike of sender-fault bounces in the sandbox raises an alert, an operator
acknowledges it with a comment, and from it requests the removal of exactly the incident's
bounces, which then waits for an approver as any request does."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.alerts.evaluate import evaluate_alerts
from bounceadmin.alerts.models import Alert, AlertRule
from bounceadmin.bounces.classification import Classification
from bounceadmin.bounces.models import Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.deletions.models import DeletionRequest
from tests.support.browser import log_in
from tests.support.factories import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

SPAMHAUS = ("5.7.1", "554 5.7.1 Client host [198.51.100.7] blocked using zen.spamhaus.org")
UNKNOWN = ("5.1.1", "550 5.1.1 The email account that you tried to reach does not exist.")


def spike_in_sandbox(upstream, sg, now):
    """A subuser whose last hour brought 24 Spamhaus blocks at gmail.com, beside everyday bounces
    (unknown users there, blocks at another domain, and blocks at gmail.com the day before);
    refreshed into the cache. Returns the addresses of the incident: every Reputation bounce of
    the last hour (the classification spike's, whatever the domain)."""
    start = int((now - timedelta(minutes=50)).timestamp())
    spike = [f"reader{i}@gmail.com" for i in range(24)]
    rows = [{"email": e, "status": SPAMHAUS[0], "reason": SPAMHAUS[1], "created": start + 60 * i}
            for i, e in enumerate(spike)]  # fmt: skip
    rows += [
        {"email": "unknown@gmail.com", "status": UNKNOWN[0], "reason": UNKNOWN[1],
         "created": start + 30},
        {"email": "blocked@yahoo.com", "status": SPAMHAUS[0], "reason": SPAMHAUS[1],
         "created": start + 30},
        {"email": "yesterday@gmail.com", "status": SPAMHAUS[0], "reason": SPAMHAUS[1],
         "created": start - 86_400},
    ]  # fmt: skip
    upstream.store.add_subuser("alpha")
    upstream.store.add_bounces("alpha", rows)
    subusers_sync()
    bounces_refresh(subuser=Subuser.objects.get(username="alpha"), full=True, client=sg)
    return sorted([*spike, "blocked@yahoo.com"])


def raise_alert(now) -> Alert:
    """The alert the evaluation raises for the spike, by a classification-spike rule (the only
    rule, so that the test reads one alert)."""
    AlertRule.objects.all().delete()
    AlertRule.objects.create(
        name="Reputation spike", kind=AlertRule.Kind.CLASSIFICATION_SPIKE,
        classifications=[Classification.REPUTATION], min_count=20, factor=3.0,
    )  # fmt: skip
    evaluate_alerts(now=now)
    alert = Alert.objects.get()
    return alert


def test_browser_spike_alert_acknowledged_and_cleaned_up(live_server, browser, upstream, sg):
    now = timezone.now().replace(microsecond=0)
    incident = spike_in_sandbox(upstream, sg, now)
    alert = raise_alert(now)
    make_user("rita", "rita-password-123", role="requester")

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, live_server, "rita", "rita-password-123")
    # The navigation counts it; the list shows it.
    nav = page.get_by_role("navigation", name="Main")
    assert "Alerts 1" in nav.inner_text().replace("\n", " ")
    nav.get_by_role("link", name="Alerts").click()
    page.get_by_role("link", name=f"#{alert.pk}").click()
    page.wait_for_url(f"**/alerts/{alert.pk}/")

    # Acknowledged with a comment.
    page.get_by_label("Comment").fill("Spamhaus listed our IP; delisting requested, INC-77")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(f"**/alerts/{alert.pk}/")
    assert f"Acknowledged alert #{alert.pk}." in page.locator(".messages").inner_text()
    assert "INC-77" in page.locator("ol.history").inner_text()
    alert.refresh_from_db()
    assert alert.state == Alert.State.ACKNOWLEDGED

    # The clean-up opens the preview of exactly the incident's bounces.
    page.get_by_role("link", name="Request removal of these bounces").click()
    page.wait_for_url("**/deletions/new/?scope=filter*")
    preview = page.locator("main").inner_text()
    shown = set(re.findall(r"[\w.]+@[\w.]+", preview))
    assert "25 addresses in 1 subuser" in preview
    assert shown and shown <= set(incident)  # the sample: the newest ten, all of the incident

    page.get_by_label("Justification").fill("Delisted from Spamhaus, INC-77")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/deletions/*/")
    assert "Pending approval" in page.content()
    [request] = DeletionRequest.objects.all()
    assert request.state == DeletionRequest.State.PENDING
    assert sorted(request.items.values_list("email", flat=True)) == incident
