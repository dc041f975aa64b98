"""Password reset: off (404, no mail, no link) unless outgoing email is configured; with email,
the whole flow from the login page's link to logging in with the new password."""

import re
import runpy

import pytest
from django.contrib.auth import urls as auth_urls

from bounceadmin.accounts.urls import RESET_VIEWS
from tests.support import REPO
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

RESET_URLS = ["/accounts/password_reset/", "/accounts/password_reset/done/",
              "/accounts/reset/MQ/set-password/", "/accounts/reset/MQ/abc-123/",
              "/accounts/reset/done/"]  # fmt: skip


@pytest.fixture
def olga():
    return make_user("olga", "the-old-password-1", email="olga@example.com")


def test_without_email_the_reset_pages_are_404_and_send_nothing(client, settings, olga, mailoutbox):
    settings.PASSWORD_RESET_ENABLED = False

    for url in RESET_URLS:
        assert client.get(url).status_code == 404, url
    assert client.post("/accounts/password_reset/", {"email": olga.email}).status_code == 404
    assert mailoutbox == []
    login = client.get("/accounts/login/").content.decode()
    assert "Forgot password?" not in login and "password_reset" not in login


def test_with_email_a_reset_link_sets_a_new_password_once(client, settings, olga, mailoutbox):
    settings.PASSWORD_RESET_ENABLED = True  # tests send mail to the locmem outbox

    login = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/password_reset/">Forgot password?</a>' in login
    asked = client.post("/accounts/password_reset/", {"email": "OLGA@example.com"})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/password_reset/done/"
    assert client.get(asked["Location"]).status_code == 200

    [mail] = mailoutbox
    assert mail.to == ["olga@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.body).group(1)
    form_url = client.get(link)["Location"]  # Django moves the token into the session
    assert "Set a new password" in client.get(form_url).content.decode()
    weak = client.post(form_url, {"new_password1": "olga", "new_password2": "olga"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    new = "a-brand-new-passphrase-7"
    done = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert done["Location"] == "/accounts/reset/done/"
    assert "Password set" in client.get(done["Location"]).content.decode()

    logged_in = client.post("/accounts/login/", {"username": "olga", "password": new})
    assert logged_in["Location"] == "/"
    client.post("/accounts/logout/")
    again = client.get(link, follow=True).content.decode()
    assert "This link is not valid any more" in again


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, settings, olga, mailoutbox):
    settings.PASSWORD_RESET_ENABLED = True

    asked = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})

    assert asked["Location"] == "/accounts/password_reset/done/"
    assert mailoutbox == []


def test_every_reset_view_of_django_is_behind_the_switch():
    names = {pattern.name for pattern in auth_urls.urlpatterns}
    assert {name for name in names if "reset" in name} == RESET_VIEWS


@pytest.mark.parametrize(
    "email_url, enabled, backend",
    [
        # Unset: the reset is off, and the alerts' mails are printed, not sent to localhost:25.
        (None, False, "django.core.mail.backends.console.EmailBackend"),
        ("smtp+tls://ops:p%40ss@smtp.example.com:587", True,
         "django.core.mail.backends.smtp.EmailBackend"),
        ("consolemail://", True, "django.core.mail.backends.console.EmailBackend"),
    ],
)  # fmt: skip
def test_email_url_turns_the_reset_on(monkeypatch, tmp_path, email_url, enabled, backend):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    if email_url is None:
        monkeypatch.delenv("EMAIL_URL", raising=False)
    else:
        monkeypatch.setenv("EMAIL_URL", email_url)

    read = runpy.run_path(str(REPO / "bounceadmin/settings.py"))

    assert read["PASSWORD_RESET_ENABLED"] is enabled
    assert read.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend") == backend
    assert "EMAIL_URL" not in read  # it may hold the SMTP password
    if email_url and email_url.startswith("smtp"):
        assert (read["EMAIL_HOST"], read["EMAIL_PORT"], read["EMAIL_USE_TLS"]) == (
            "smtp.example.com", 587, True)  # fmt: skip
        assert (read["EMAIL_HOST_USER"], read["EMAIL_HOST_PASSWORD"]) == ("ops", "p@ss")
