"""End to end: an admin sets a subuser's webhook up from the overview; a real worker sets it up in
the sandbox, over HTTP; the row follows it without a reload. Then a bounce added in the sandbox
arrives through the signed webhook and shows on the overview and in the list."""

import time

import pytest
import requests

from bounceadmin.bounces.models import Bounce
from bounceadmin.webhooks.models import WebhookEndpoint
from tests.support.browser import log_in
from tests.support.factories import make_subuser, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_admin_sets_a_webhook_up_from_the_overview(
    live_server, page, upstream, celery_worker_process, sg, settings
):
    settings.WEBHOOK_PUBLIC_URL = ""
    upstream.store.add_subuser("acme")
    make_subuser("acme")
    make_user("ada", "a-long-test-password", role="admin")
    log_in(page, live_server, "ada", "a-long-test-password")
    row = page.locator("table.overview tbody tr", has_text="acme")
    assert row.locator("td.webhook").inner_text().startswith("not set up")

    row.get_by_role("button", name="Set up webhook").click()

    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_text("Webhook set-up of acme queued.").is_visible()
    # overview.js follows the queued set-up until the worker has done it.
    page.locator("table.overview td.webhook", has_text="on, signed").wait_for(timeout=30_000)
    endpoint = WebhookEndpoint.objects.get(subuser__username="acme")
    [webhook] = sg.list_event_webhooks("acme").webhooks
    assert webhook.url == live_server.url + endpoint.path  # the origin the admin used
    assert endpoint.receiving and endpoint.public_key == webhook.public_key

    # The sandbox now delivers what it gets, signed, to the dashboard the admin used.
    control = f"{upstream.url}/_sandbox"
    config = {"interval": 0.2, "duplicate_rate": 0}
    requests.post(f"{control}/webhooks/config", json=config, timeout=5).raise_for_status()
    bounce = {"email": "live@example.com", "status": "5.1.1", "reason": "550 5.1.1 no such user"}
    added = requests.post(
        f"{control}/bounces", json={"subuser": "acme", "bounces": [bounce]}, timeout=5
    )
    added.raise_for_status()
    deadline = time.monotonic() + 30
    while not Bounce.objects.filter(email="live@example.com").exists():
        assert time.monotonic() < deadline, "the bounce did not arrive through the webhook"
        time.sleep(0.2)

    page.reload()
    cell = page.locator("table.overview tbody tr", has_text="acme").locator("td.webhook")
    assert "· 1 today" in cell.inner_text() and "last event" in cell.inner_text()
    page.goto(f"{live_server.url}/bounces/?subuser=acme")
    assert page.get_by_role("link", name="live@example.com").is_visible()
