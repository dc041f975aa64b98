"""Every page and export that shows addresses tells caches not to keep it; static files and the
health check keep their own caching."""

import pytest

from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:
    return {d.strip() for d in response.get("Cache-Control", "").split(",") if d.strip()}


@pytest.fixture
def urls(client):
    bounce = make_bounce(make_subuser("alpha"), "a@example.com")
    client.force_login(make_user("rita", role="requester"))
    client.post(f"/deletions/new/?bounce={bounce.pk}", {"justification": "fixed"})
    request = DeletionRequest.objects.get()
    return {
        "overview": "/",
        "bounce list": "/bounces/",
        "bounce detail": f"/bounces/{bounce.pk}/",
        "bounce export": "/bounces/export.csv",
        "bounce export json": "/bounces/export.csv?format=json",
        "refreshes": "/refreshes/",
        "deletion queue": "/deletions/",
        "deletion preview": f"/deletions/new/?bounce={bounce.pk}",
        "deletion detail": f"/deletions/{request.pk}/",
        "audit list": "/audit/",
        "audit export": "/audit/export.csv",
        "retry": f"/deletions/{request.pk}/retry/",
    }


SURFACES = ["overview", "bounce list", "bounce detail", "bounce export", "bounce export json",
            "refreshes", "deletion queue", "deletion preview", "deletion detail", "audit list",
            "audit export"]  # fmt: skip


@pytest.mark.parametrize("surface", SURFACES)
def test_pages_and_exports_with_addresses_are_private_and_not_stored(client, urls, surface):
    response = client.get(urls[surface])

    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)


def test_redirects_after_an_action_are_not_stored_either(client, urls):
    response = client.post(urls["retry"])  # nothing failed: a message and a redirect

    assert response.status_code == 302
    assert {"private", "no-store"} <= directives(response)


def test_static_files_and_the_health_check_keep_their_own_caching(client, urls):
    css = client.get("/static/css/app.css")
    health = client.get("/healthz")

    assert css.status_code == 200
    assert "no-store" not in directives(css)
    # never_cache's full set, not ours added to it.
    assert directives(health) == {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}
