"""A subuser's region on the pages: the EU badge (only for EU subusers) on the overview, its
chart, a bounce's and an entry's page; the `region` filter of /bounces/, /suppressions/ and the
API, within the user's scope."""

import pytest

from bounceadmin.api.tokens import api_token_create
from tests.support.factories import make_bounce, make_subuser, make_suppression, make_user

pytestmark = pytest.mark.django_db

BADGE = 'class="badge region-eu"'


@pytest.fixture
def two(client):
    paris = make_subuser("paris", region="eu")
    boston = make_subuser("boston")
    make_bounce(paris, "p@example.com")
    make_bounce(boston, "b@example.com")
    make_suppression(paris, "pb@example.com", "blocks")
    make_suppression(boston, "bb@example.com", "blocks")
    return paris, boston


def login(client, **kw):
    user = make_user(**kw)
    client.force_login(user)
    return user


def test_the_overview_marks_eu_subusers_only(client, two):
    login(client)
    html = client.get("/").content.decode()

    paris_row = html[html.index(">paris<") :].split("</th>", 1)[0]
    boston_row = html[html.index(">boston<") :].split("</th>", 1)[0]
    assert BADGE in paris_row and BADGE not in boston_row
    assert html.count(BADGE) == 1
    assert BADGE in client.get("/", {"subuser": "paris"}).content.decode().split("chart-h", 1)[1]
    assert client.get("/", {"part": "rows"}).content.decode().count(BADGE) == 1


def test_a_bounces_and_an_entrys_page_show_the_region(client, two):
    paris, boston = two
    login(client)

    assert BADGE in client.get(paris.bounces.get().get_absolute_url()).content.decode()
    assert BADGE not in client.get(boston.bounces.get().get_absolute_url()).content.decode()
    assert BADGE in client.get(f"/suppressions/{paris.suppressions.get().pk}/").content.decode()
    assert (
        BADGE not in client.get(f"/suppressions/{boston.suppressions.get().pk}/").content.decode()
    )


def rows(response):
    assert response.status_code == 200
    return {(b.subuser.username, b.email) for b in response.context["table"].page.object_list.data}


def test_the_bounce_list_filters_by_region(client, two):
    login(client)

    assert rows(client.get("/bounces/", {"region": "eu"})) == {("paris", "p@example.com")}
    assert rows(client.get("/bounces/", {"region": "global"})) == {("boston", "b@example.com")}
    assert len(rows(client.get("/bounces/"))) == 2


def test_the_all_lists_page_filters_by_region(client, two):
    from tests.suppressions.support import listed

    login(client)

    assert listed(client.get("/suppressions/", {"region": "eu"})) == {
        ("bounces", "paris", "p@example.com"), ("blocks", "paris", "pb@example.com"),
    }  # fmt: skip
    assert {s for _, s, _ in listed(client.get("/suppressions/", {"region": "global"}))} == {
        "boston"
    }


def test_a_bad_region_is_a_form_error_not_a_500(client, two):
    login(client)

    for path in ("/bounces/", "/suppressions/"):
        response = client.get(path, {"region": "mars"})
        assert response.status_code == 200
        assert "region" in response.context["filter"].form.errors
    _, secret = api_token_create(make_user("api"), name="t")
    api = client.get("/api/v1/bounces/", {"region": "mars"}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 400


def test_the_api_filters_by_region_within_the_users_scope(client, two):
    paris, boston = two
    _, everyone = api_token_create(make_user("all"), name="t")
    _, boston_only = api_token_create(make_user("b", subusers=[boston]), name="t")

    def emails(secret, **params):
        response = client.get("/api/v1/bounces/", params, HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 200, response.content
        return {row["email"] for row in response.json()["results"]}

    assert emails(everyone, region="eu") == {"p@example.com"}
    assert emails(boston_only, region="eu") == set()
    assert emails(boston_only, region="global") == {"b@example.com"}


def test_the_sendgrid_compatible_subuser_list_answers_regions(client, two):
    _, secret = api_token_create(make_user("all"), name="t")

    def listed(**params):
        response = client.get(
            "/sendgrid/v3/subusers", params, HTTP_AUTHORIZATION=f"Bearer {secret}"
        )
        assert response.status_code == 200, response.content
        return [(s["username"], s.get("region")) for s in response.json()]

    assert listed(include_region="true") == [("boston", "global"), ("paris", "eu")]
    assert listed(region="eu") == [("paris", None)]
    assert listed(region="global", include_region="true") == [("boston", "global")]
