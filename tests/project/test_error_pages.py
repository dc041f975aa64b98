"""Errors look like the product: 400, 403, 404, 414, 500 and the login lock-out use the site's
layout, say what happened, and the lock-out says for how long."""

import pytest

from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


def in_layout(html: str) -> bool:
    return '<header class="top">' in html and "css/app.css" in html


def test_not_found_uses_the_layout_with_navigation(client):
    client.force_login(make_user("vera", role="viewer"))

    response = client.get("/no/such/page/")

    html = response.content.decode()
    assert response.status_code == 404 and in_layout(html)
    assert "Not found" in html and 'aria-label="Main"' in html


def test_forbidden_says_which_role_is_missing(client):
    client.force_login(make_user("vera", role="viewer"))

    response = client.post("/refresh/")

    html = response.content.decode()
    assert response.status_code == 403 and in_layout(html)
    assert "This page needs the requester role." in html


def test_server_error_uses_the_layout_and_changes_nothing(client, monkeypatch):
    from bounceadmin.bounces import selectors

    client.force_login(make_user("vera", role="viewer"))
    client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "overview_rows", broken)
    response = client.get("/")

    html = response.content.decode()
    assert response.status_code == 500 and in_layout(html)
    assert "Something went wrong" in html and "boom" not in html


def test_lockout_page_says_for_how_long(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_user("olga", "the-right-password-1")
    for _ in range(2):
        client.post("/accounts/login/", {"username": "olga", "password": "guess"})

    response = client.post("/accounts/login/", {"username": "olga", "password": "guess"})

    html = response.content.decode()
    assert response.status_code == 429 and in_layout(html)
    assert "for 15 minutes after the last attempt" in html


def test_too_long_query_string_gets_a_page_that_says_so(client):
    client.force_login(make_user("vera", role="viewer"))

    response = client.get("/bounces/?" + "&".join(f"bounce={i}" for i in range(1500)))

    html = response.content.decode()
    assert response.status_code == 414 and in_layout(html)
    assert "The address is too long" in html and "at most 8,000" in html


def test_bad_input_is_a_page_in_the_layout(client):
    client.force_login(make_user("vera", role="viewer"))

    response = client.get("/bounces/", {"email": "a\x00b"})

    assert response.status_code == 400 and in_layout(response.content.decode())
    assert "must not contain NUL" in response.content.decode()


def test_a_session_cookie_with_nul_is_no_session_not_a_500(client):
    # Django's cookie parser turns \000 into a NUL; PostgreSQL refuses it in a lookup.
    for path in ("/accounts/login/", "/"):
        response = client.get(path, HTTP_COOKIE='sessionid="aaaaaaaabbbbbbbb\\000"')
        assert response.status_code in (200, 302)
