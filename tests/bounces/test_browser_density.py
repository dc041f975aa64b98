"""The bounce list on a laptop screen: rows one line high, so that a 1440×900 window shows 25 or
more of them, with long addresses whole and long reasons cut to one line (the whole text in the
tooltip and on the detail page)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import Bounce
from bounceadmin.bounces.views import BounceListView
from tests.support.browser import log_in
from tests.support.factories import make_subuser, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

# What upstream sends: Gmail's reply runs to 300 characters, and addresses to 50 and more.
REASONS = [
    "550 5.1.1 The email account that you tried to reach does not exist. Please try double-"
    "checking the recipient's email address for typos or unnecessary spaces. For more "
    "information, go to https://support.google.com/mail/?p=NoSuchUser d75a77b69052e-4b2f4c3f1"
    "a0si1234567qtb.512 - gsmtp",
    "552 5.2.2 The recipient's inbox is out of storage space and inactive. Please direct the "
    "recipient to https://support.google.com/mail/?p=OverQuotaPerm 6a1803df08f44-70e7c2d5e1"
    "bsi123456d6.45 - gsmtp",
    "554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org; "
    "https://www.spamhaus.org/query/ip/198.51.100.7",
]

ADDRESSES = [
    "firstname.lastname{:02d}@subdomain.example-company.com",
    "accounts-payable.department{:02d}@example-holdings.co.uk",
    "j.doe{:02d}@gmail.com",
]


@pytest.fixture
def crowded():
    make_user("rita", "a-long-test-password", role="requester")
    subusers = [make_subuser("acme-marketing-transactional"), make_subuser("acme-billing")]
    now = timezone.now()
    Bounce.objects.bulk_create(
        Bounce(
            subuser=subusers[i % 2],
            email=ADDRESSES[i % 3].format(i),
            status="5.1.1", reason=REASONS[i % 3], created=now - timedelta(minutes=i),
            type="hard", classification="Invalid Address", fault="recipient",
            first_seen=now, last_seen=now,
        )
        for i in range(60)
    )  # fmt: skip


def rows_in_view(page) -> int:
    """The rows of the list wholly inside the window, as loaded (no scrolling)."""
    return page.evaluate(
        """() => [...document.querySelectorAll("table.bounces tbody tr")].filter((tr) => {
            const box = tr.getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight
                && box.left >= 0 && box.right <= window.innerWidth;
        }).length"""
    )


@pytest.mark.parametrize("cap", [1000, 30])  # 30: the longer count, "More than 30 … Next …"
def test_browser_list_shows_25_rows_on_a_1440_by_900_screen(
    live_server, browser, crowded, monkeypatch, cap
):
    monkeypatch.setattr(BounceListView, "count_cap", cap)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "rita", "a-long-test-password")

    page.goto(f"{live_server.url}/bounces/?per_page=50")

    visible = rows_in_view(page)
    print(f"rows wholly visible at 1440x900: {visible}")
    assert visible >= 25
    # Nothing scrolls sideways, and each address is on one line, whole.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    first = page.locator("table.bounces tbody tr td.email a").first
    assert first.inner_text() == "firstname.lastname00@subdomain.example-company.com"
    assert first.evaluate("a => a.getClientRects().length") == 1
    context.close()
