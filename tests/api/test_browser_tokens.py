"""The API tokens page in a browser, on a laptop and on a phone: a new token is shown once,
then listed by name and prefix only, and revoked; nothing overflows at 390 px."""

import os
from pathlib import Path

import pytest

from bounceadmin.api.tokens import api_token_create
from tests.support.browser import log_in
from tests.support.factories import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.mark.parametrize("width", [1440, 390])
def test_tokens_page_makes_shows_once_and_revokes(live_server, browser, width, tmp_path):
    user = make_user("vera", "a-long-test-password", role="requester")
    api_token_create(user, name="nightly export", expires_days=30)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "vera", "a-long-test-password")
    page.goto(f"{live_server.url}/accounts/tokens/")
    page.get_by_label("Name").fill("support tool")
    page.get_by_label("Expires after (days)").fill("90")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").inner_text()
    shots = Path(os.environ.get("SCREENSHOTS_DIR", tmp_path))
    page.screenshot(path=str(shots / f"tokens-{width}.png"), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    page.goto(f"{live_server.url}/accounts/tokens/")
    assert secret not in page.content()
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    page.locator("tbody tr", has_text="support tool").get_by_role("button", name="Revoke").click()
    assert "revoked" in page.locator("tbody tr", has_text="support tool").inner_text()
    context.close()
    assert secret.startswith("ba_")
    assert scroll_width <= width
