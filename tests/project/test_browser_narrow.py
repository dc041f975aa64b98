"""Phones and narrow windows: at 390 px no page scrolls sideways, the navigation folds behind a
Menu button, and table rows stack with their cells labelled."""

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import Bounce, RefreshRun, Subuser
from bounceadmin.deletions.models import DeletionRequest
from tests.support.browser import log_in
from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

LONG = "a.very.long.address.that.would.not.wrap.anywhere@subdomain.example-company.com"


@pytest.fixture
def pages(client):
    make_user("abe", "a-long-test-password", role="approver")
    acme = make_subuser("acme-marketing-transactional")
    for i in range(5):
        make_bounce(acme, f"{i}{LONG}", reason="550 5.1.1 <" + "x" * 200 + "> unknown user")
    run = RefreshRun.objects.create(
        subuser=acme, kind="full", started_at=timezone.now(), finished_at=timezone.now(),
        outcome="failed", error="GET /v3/suppression/bounces for subuser: " + "y" * 300,
    )  # fmt: skip
    Subuser.objects.filter(pk=acme.pk).update(last_refresh=run)
    blocked = make_suppression(acme, f"0{LONG}", "blocks", reason="554 " + "z" * 300)
    make_suppression(acme, f"0{LONG}", group=make_group(acme, "A group with a long name " * 4))
    client.force_login(make_user("rita", role="requester"))
    ids = "&".join(f"bounce={b.pk}" for b in Bounce.objects.all())
    client.post(f"/deletions/new/?{ids}", {"justification": "customer fixed DNS " * 10})
    deletion = DeletionRequest.objects.get()
    bounce = Bounce.objects.first()
    return [
        "/", "/bounces/", f"/bounces/{bounce.pk}/", "/deletions/", f"/deletions/{deletion.pk}/",
        f"/deletions/{deletion.pk}/approve/", f"/deletions/new/?{ids}", "/refreshes/", "/audit/",
        "/no/such/page/", "/suppressions/?removed=1", f"/suppressions/{blocked.pk}/",
        f"/lookup/?email=0{LONG}",
    ]  # fmt: skip


def test_no_page_scrolls_sideways_at_390_px(live_server, browser, pages):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "abe", "a-long-test-password")
    wide = {}
    for url in pages:
        page.goto(live_server.url + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[url] = width
    context.close()

    assert wide == {}


def test_navigation_folds_behind_menu_on_a_phone(live_server, browser, pages):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "abe", "a-long-test-password")

    audit_link = page.get_by_role("link", name="Audit")
    assert not audit_link.is_visible()
    page.get_by_role("button", name="Menu").click()
    assert audit_link.is_visible()
    audit_link.click()
    page.wait_for_url("**/audit/")
    cell = page.locator("table.stackable tbody td[data-label]").first
    assert cell.get_attribute("data-label")  # cells carry their column's name
    context.close()


def test_wide_screens_show_the_navigation_without_menu(live_server, browser, pages):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "abe", "a-long-test-password")

    assert page.get_by_role("link", name="Audit").is_visible()
    assert not page.get_by_role("button", name="Menu").is_visible()
    context.close()


def test_bounce_list_on_a_phone_shows_address_subuser_class_and_date(live_server, browser, pages):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, live_server, "abe", "a-long-test-password")

    page.goto(f"{live_server.url}/bounces/?removed=1")
    shown = page.evaluate(
        """() => [...document.querySelector("table.bounces tbody tr").children]
            .filter((td) => getComputedStyle(td).display !== "none")
            .map((td) => td.getAttribute("data-label") || td.querySelector("input")?.type)"""
    )

    assert shown == ["checkbox", "Address", "Subuser", "Classification", "Bounced (UTC)"]
    context.close()
