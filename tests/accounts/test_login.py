import pytest

from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


def login(client, password, ip="203.0.113.9"):
    return client.post(
        "/accounts/login/", {"username": "olga", "password": password}, REMOTE_ADDR=ip
    )


def test_login_is_throttled_after_repeated_failures(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("olga", "the-right-password-1")

    for _ in range(2):
        assert login(client, "guess").status_code == 200  # the form again, with an error
    assert login(client, "guess").status_code == 429  # the limit reached: locked
    locked = login(client, "the-right-password-1")

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert failed.count() >= 3 and failed.first().source_ip == "203.0.113.9"


def test_login_from_another_address_is_not_locked(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_user("olga", "the-right-password-1")
    for _ in range(2):
        login(client, "guess")

    response = login(client, "the-right-password-1", ip="198.51.100.4")

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.login", actor_name="olga").exists()


def test_logout_is_post_only_and_audited(client):
    make_user("olga", "the-right-password-1")
    login(client, "the-right-password-1")

    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")

    assert AuditEvent.objects.filter(action="auth.logout", actor_name="olga").exists()
    assert client.get("/").status_code == 302


def test_session_cookie_lives_only_as_long_as_the_browser_and_the_session_expires(client):
    make_user("olga", "the-right-password-1")

    response = login(client, "the-right-password-1")

    cookie = response.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # gone when the browser closes
    assert cookie["httponly"]
    assert 0 < client.session.get_expiry_age() <= 24 * 3600
