"""A support agent's path: a whole address typed in the header's search lands on its lookup,
which shows why it gets no mail, subuser by subuser."""

import pytest

from tests.support.browser import log_in
from tests.support.factories import make_bounce, make_subuser, make_suppression, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_browser_header_search_lands_on_the_lookup(live_server, page):
    make_user("agent", "a-long-test-password")
    make_bounce(make_subuser("acme"), "pat@example.com")
    make_suppression(make_subuser("globex"), "pat@example.com", "global_unsubscribes")
    log_in(page, live_server, "agent", "a-long-test-password")

    page.get_by_label("Find an address in every subuser").fill("Pat@Example.com")
    page.keyboard.press("Enter")
    page.wait_for_url("**/lookup/?**")

    verdict = page.locator("section.verdict")
    assert "Suppressed on 2 lists in 2 subusers" in verdict.inner_text()
    bounce = page.locator("article.entry-card", has_text="Bounces")
    assert "acme" in bounce.inner_text()
    unsubscribe = page.locator("article.entry-card", has_text="Global unsubscribes")
    assert "globex" in unsubscribe.inner_text()
    consent = unsubscribe.get_by_role("note")
    assert "recorded consent" in consent.inner_text() and consent.is_visible()


def test_browser_lookup_requests_the_bounce_and_the_unsubscribe_needs_consent(live_server, page):
    """The issue's path: an address bounced on one subuser and unsubscribed on another; the
    bounce's removal is requested from the lookup, the unsubscribe's is refused without the
    recipient's consent."""
    from django.contrib.auth.models import Permission

    from bounceadmin.deletions.models import DeletionRequest

    agent = make_user("agent", "a-long-test-password", role="requester")
    agent.user_permissions.add(Permission.objects.get(codename="remove_recipient_optout"))
    make_bounce(make_subuser("acme"), "pat@example.com")
    make_suppression(make_subuser("globex"), "pat@example.com", "global_unsubscribes")
    log_in(page, live_server, "agent", "a-long-test-password")
    page.goto(f"{live_server.url}/lookup/?email=pat@example.com")

    bounce = page.locator("article.entry-card", has_text="Bounces")
    bounce.get_by_role("button", name="Request removal").click()
    page.get_by_label("Justification").fill("Mailbox restored, customer confirmed by phone")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/deletions/*/")
    [bounce_request] = DeletionRequest.objects.all()
    assert (bounce_request.list, bounce_request.subuser.username) == ("bounces", "acme")

    page.goto(f"{live_server.url}/lookup/?email=pat@example.com")
    unsubscribe = page.locator("article.entry-card", has_text="Global unsubscribes")
    unsubscribe.get_by_role("button", name="Request removal with consent").click()
    page.get_by_label("Justification").fill("Customer wants the newsletter back")
    # The browser's own checks would stop an empty form: submit it as a script would.
    page.locator("form.request-form").evaluate("form => form.noValidate = true")
    page.get_by_role("button", name="Submit request").click()

    assert page.get_by_text("This field is required.").first.is_visible()
    assert "What the recipient said" in page.content()
    assert DeletionRequest.objects.count() == 1  # the unsubscribe's was refused
