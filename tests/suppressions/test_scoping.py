"""A scoped operator sees the entries of their subusers only, on every page: never another
subuser's, nor the parent account's unless granted it."""

import pytest

from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

from .support import listed

pytestmark = pytest.mark.django_db

ADDRESS = "shared@example.com"


@pytest.fixture
def world():
    acme, globex = make_subuser("acme"), make_subuser("globex")
    parent = make_subuser("parent-login", is_parent=True)
    for subuser in (acme, globex, parent):
        make_bounce(subuser, ADDRESS)
        make_suppression(subuser, ADDRESS, "blocks", reason=f"blocked on {subuser.username}")
        make_suppression(subuser, ADDRESS, group=make_group(subuser, f"news-{subuser.username}"))
    return acme, globex, parent


@pytest.fixture
def scoped(client, world):
    client.force_login(make_user("scoped", subusers=[world[0]]))
    return world


def test_scoped_table_shows_only_granted_subusers(client, scoped):
    assert {e[1] for e in listed(client.get("/suppressions/"))} == {"acme"}
    assert {e[1] for e in listed(client.get("/suppressions/?removed=1"))} == {"acme"}
    # Naming another subuser is not a way in: it is not a choice.
    response = client.get("/suppressions/?subuser=globex")
    assert "subuser" in response.context["filter"].form.errors
    html = response.content.decode()
    assert "blocked on globex" not in html and "news-globex" not in html
    assert "parent account" not in html


def test_scoped_export_holds_only_granted_subusers(client, scoped):
    body = b"".join(client.get("/suppressions/export.csv").streaming_content).decode()
    lines = body.strip().splitlines()[1:]
    assert len(lines) == 3 and all(",acme," in line for line in lines)
    assert client.get("/suppressions/export.csv?subuser=globex").status_code == 400


def test_scoped_detail_of_another_subusers_entry_is_404(client, scoped):
    acme, globex, parent = scoped
    for subuser in (globex, parent):
        entry = subuser.suppressions.first()
        assert client.get(f"/suppressions/{entry.pk}/").status_code == 404
    mine = acme.suppressions.first()
    response = client.get(f"/suppressions/{mine.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "news-acme" in html and "news-globex" not in html and "parent account" not in html


def test_scoped_lookup_shows_only_granted_subusers(client, scoped):
    response = client.get(f"/lookup/?email={ADDRESS}")
    entries = response.context["found"].entries
    assert len(entries) == 3 and {e.record.subuser.username for e in entries} == {"acme"}
    html = response.content.decode()
    assert "globex" not in html and "parent account" not in html


def test_parent_account_is_seen_when_granted(client, world):
    acme, _globex, parent = world
    client.force_login(make_user("parented", subusers=[acme, parent]))
    assert {e[1] for e in listed(client.get("/suppressions/"))} == {"acme", "parent-login"}
    html = client.get(f"/lookup/?email={ADDRESS}").content.decode()
    assert "parent account" in html and "globex" not in html


def test_user_without_operator_record_sees_nothing(client, world):
    client.force_login(make_user("nobody", role=None))
    assert client.get("/suppressions/").status_code == 403
    assert client.get(f"/lookup/?email={ADDRESS}").status_code == 403


def test_anonymous_is_sent_to_log_in(client, world):
    for url in ("/suppressions/", "/suppressions/export.csv", f"/lookup/?email={ADDRESS}"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url
