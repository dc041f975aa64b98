"""In a real browser: an approver signs in through the provider's own login form (pytest-iam's
Canaille over HTTP), gives the authenticator's code here, and approves a deletion request."""

import pytest

from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions import services
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user
from tests.support.oidc import SECRET, provider_client, provider_user, vouch_for_emails
from tests.support.totp import code_for, give_factor, steady_step

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def live_oidc(iam_server, live_server, settings):
    client = provider_client(iam_server, f"{live_server.url}/accounts/oidc/callback/")
    vouch_for_emails(iam_server)
    iam_server.logout()  # the provider's own login form, not an open session
    settings.OIDC_ISSUER = iam_server.url.rstrip("/")
    settings.OIDC_CLIENT_ID = client.client_id
    settings.OIDC_CLIENT_SECRET = SECRET
    settings.OIDC_PROVIDER_NAME = "Canaille"
    yield iam_server
    iam_server.backend.delete(client)


def test_browser_sign_in_through_the_provider_then_approve_with_a_code(
    live_server, live_oidc, page, settings, monkeypatch
):
    settings.MFA_REQUIRED_ROLES = ["approver", "admin"]
    monkeypatch.setattr(services, "publish", lambda *a: True)  # the push is not this test's
    acme = make_subuser("acme")
    make_bounce(acme, "one@example.com")
    rita = make_user("rita", role="requester")
    [request] = services.deletion_request_create(
        user=rita, bounces=Bounce.objects.filter(email="one@example.com"), justification="fixed"
    )
    arne = make_user("arne", role="approver", email="arne@example.com")
    device, _ = give_factor(arne)
    at_provider = provider_user(live_oidc, "arne.sso", email="arne@example.com")
    live_oidc.consent(at_provider)

    page.goto(f"{live_server.url}/deletions/{request.pk}/approve/")
    page.wait_for_url("**/accounts/login/**")
    page.get_by_role("link", name="Sign in with Canaille").click()
    page.wait_for_url(f"{live_oidc.url}**")
    page.fill('input[name="login"]', "arne.sso")
    page.press('input[name="login"]', "Enter")
    page.fill('input[name="password"]', "provider-password-123")
    page.press('input[name="password"]', "Enter")

    page.wait_for_url(f"{live_server.url}/accounts/login/code/")
    steady_step()
    page.get_by_label("Code").fill(code_for(device.bin_key.hex()))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/deletions/{request.pk}/approve/")
    page.get_by_role("button", name="Approve and remove 1 address").click()
    page.wait_for_url(f"**/deletions/{request.pk}/")

    assert "Approved request" in page.locator(".messages").inner_text()
    assert DeletionRequest.objects.get(pk=request.pk).state == "approved"
