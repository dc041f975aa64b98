import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.browser import log_in
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def data():
    make_user("ops", "a-long-test-password")
    alpha, beta = make_subuser("alpha"), make_subuser("beta")
    now = timezone.now()
    for i in range(120):
        make_bounce(alpha, f"user{i:03d}@example.com", created=now - timedelta(hours=i))
    for i in range(30):
        make_bounce(
            beta, f"full{i:03d}@example.org", status="4.2.2",
            reason="452 4.2.2 Mailbox full, try again later", created=now - timedelta(hours=i),
        )  # fmt: skip
    make_bounce(beta, "evil@example.net", reason="<script>window.pwned=1</script><b>x</b>")


def test_browser_login_filter_sort_page_detail_export(live_server, page, data, tmp_path):
    log_in(page, live_server, "ops", "a-long-test-password")
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator("table.overview tbody tr").count() == 2

    # filter: alpha's hard bounces, 25 a page
    page.get_by_role("link", name="Bounces", exact=True).click()
    page.locator("details.filters summary").click()
    page.get_by_label("Subuser", exact=True).select_option(["alpha"])
    page.locator("#id_type").select_option("hard")
    page.locator("#id_per_page").select_option("25")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/bounces/?*")
    assert "120" in page.locator("p.count").inner_text()
    assert page.locator("table.bounces tbody tr").count() == 25

    # sort by address (ascending), then go to page 2: filters and sort survive
    page.locator("table.bounces thead").get_by_role("link", name="Address").click()
    page.wait_for_url("**sort=email**")
    assert (
        page.locator("table.bounces tbody tr td.email").first.inner_text() == "user000@example.com"
    )
    page.locator("ul.pagination").get_by_role("link", name="2", exact=True).click()
    page.wait_for_url("**page=2**")
    url = page.url
    assert "subuser=alpha" in url and "type=hard" in url and "sort=email" in url
    assert (
        page.locator("table.bounces tbody tr td.email").first.inner_text() == "user025@example.com"
    )

    # the address links to its detail page
    page.get_by_role("link", name="user025@example.com").click()
    page.wait_for_url("**/bounces/*/")
    assert page.get_by_role("heading", name="user025@example.com").is_visible()
    assert "Invalid Address" in page.content()

    # the export carries the current filter
    page.go_back()
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    path = tmp_path / "export.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == 120
    assert {r["subuser"] for r in rows} == {"alpha"}
    assert [r["email"] for r in rows] == sorted(r["email"] for r in rows)


def test_browser_hostile_reason_stays_inert(live_server, page, data):
    log_in(page, live_server, "ops", "a-long-test-password")

    page.goto(f"{live_server.url}/bounces/?email=evil")
    page.get_by_role("link", name="evil@example.net").click()
    page.wait_for_url("**/bounces/*/")

    assert page.evaluate("window.pwned") is None
    assert "<script>window.pwned=1</script>" in page.locator("pre.reason-full").inner_text()


def test_browser_header_search_and_phone_layout(live_server, browser, data):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    log_in(phone, live_server, "ops", "a-long-test-password")

    phone.get_by_label("Find an address in every subuser").fill("full00")
    phone.keyboard.press("Enter")
    phone.wait_for_url("**email=full00**")

    assert phone.locator("table.bounces tbody tr").count() == 10
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # the page itself does not scroll sideways; the table scrolls in its box
    context.close()


def test_browser_select_rows_and_request_their_deletion(live_server, page, data):
    make_user("rita", "rita-password-123", role="requester")
    log_in(page, live_server, "rita", "rita-password-123")

    page.goto(f"{live_server.url}/bounces/?subuser=beta&per_page=25")
    page.locator("#select-all").check()
    assert page.locator('input[name="bounce"]:checked').count() == 25
    page.locator("#select-all").uncheck()
    boxes = page.locator('input[name="bounce"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Request deletion of selected").click()
    page.wait_for_url("**/deletions/new/?*")

    assert page.get_by_role("heading", name="2 addresses in 1 subuser").is_visible()


def test_browser_overview_follows_a_refresh_without_reloading(live_server, page):
    from bounceadmin.bounces.models import RefreshRun, Subuser

    make_user("ops", "a-long-test-password")
    alpha = make_subuser("alpha")
    Subuser.objects.filter(pk=alpha.pk).update(refresh_queued_at=timezone.now())
    log_in(page, live_server, "ops", "a-long-test-password")
    row = page.locator("tr", has=page.get_by_role("link", name="alpha", exact=True))
    assert row.get_attribute("data-state") == "queued"
    page.evaluate("window.notReloaded = true")

    now = timezone.now()
    run = RefreshRun.objects.create(subuser=alpha, kind="full", started_at=now, outcome="running")
    Subuser.objects.filter(pk=alpha.pk).update(last_refresh=run, refresh_queued_at=None)
    page.wait_for_selector('tr[data-state="running"]', timeout=10_000)
    RefreshRun.objects.filter(pk=run.pk).update(outcome="ok", finished_at=now, fetched=3)
    Subuser.objects.filter(pk=alpha.pk).update(last_success_at=now)
    page.wait_for_selector('tr[data-state="ok"]', timeout=10_000)

    assert page.evaluate("window.notReloaded") is True
    assert "3 fetched" in row.inner_text()
