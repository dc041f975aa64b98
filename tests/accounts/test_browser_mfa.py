"""In a real browser: an approver without a second factor is sent to set one up on their first
approval, reads the key off the page into an "app" (django-otp's TOTP), approves, then signs in
again with a code and approves at once."""

import pytest

from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionRequest
from tests.support.browser import log_in
from tests.support.factories import make_bounce, make_subuser, make_user
from tests.support.totp import code_for, key_of_secret, steady_step

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_browser_enrol_on_first_approval_then_sign_in_and_approve_with_a_code(
    live_server, page, settings, monkeypatch
):
    settings.MFA_REQUIRED_ROLES = ["approver", "admin"]
    monkeypatch.setattr(services, "publish", lambda *a: True)  # the push is not this test's
    acme = make_subuser("acme")
    for email in ("one@example.com", "two@example.com"):
        make_bounce(acme, email)
    rita = make_user("rita", role="requester")
    first, second = (
        services.deletion_request_create(
            user=rita, bounces=Bounce.objects.filter(email=email), justification="fixed"
        )[0]
        for email in ("one@example.com", "two@example.com")
    )
    make_user("arne", "arne-password-123", role="approver")
    steady_step(margin=10)

    log_in(page, live_server, "arne", "arne-password-123")
    page.goto(f"{live_server.url}/deletions/{first.pk}/approve/")
    page.wait_for_url("**/accounts/two-factor/setup/**")
    assert "needs a second factor for your role" in page.locator(".messages").inner_text()
    key = key_of_secret(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from the app").fill(code_for(key))
    page.get_by_label("Your password").fill("arne-password-123")
    page.get_by_role("button", name="Set up").click()

    codes = page.locator("#recovery-codes li")
    assert codes.count() == 10
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a text file").click()
    saved = download.value.path().read_text()
    assert all(code in saved for code in codes.all_inner_texts())
    page.get_by_role("link", name="I have saved them: go on").click()
    page.wait_for_url(f"**/deletions/{first.pk}/approve/")
    page.get_by_role("button", name="Approve and remove 1 address").click()
    page.wait_for_url(f"**/deletions/{first.pk}/")
    assert "Approved request" in page.locator(".messages").inner_text()
    assert DeletionRequest.objects.get(pk=first.pk).state == "approved"

    # signing in again asks for the code; with it, approving needs no other check
    page.get_by_role("button", name="Log out").click()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("arne")
    page.get_by_label("Password").fill("arne-password-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/login/code/")
    page.get_by_label("Code").fill(code_for(key, 1))  # the next step's: the first is spent
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/deletions/{second.pk}/approve/")
    page.get_by_role("button", name="Approve and remove 1 address").click()
    page.wait_for_url(f"**/deletions/{second.pk}/")
    assert DeletionRequest.objects.get(pk=second.pk).state == "approved"
