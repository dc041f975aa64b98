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
