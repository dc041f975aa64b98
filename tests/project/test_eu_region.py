"""EU-region subusers on every call path: the sync records each subuser's region, and their
refreshes (bounces and the other lists), pushes and webhook set-up go to the EU host; against
the sandbox over HTTP, which refuses a call on the wrong host. Each service builds its own client
from settings (`upstream` points SENDGRID_API_URL and SENDGRID_EU_API_URL at the sandbox)."""

from io import StringIO

import pytest
from django.core.management import call_command

from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from bounceadmin.deletions import services
from bounceadmin.deletions.other_lists import removal_request_create
from bounceadmin.deletions.push import deletion_push
from bounceadmin.suppressions.models import Suppression
from bounceadmin.suppressions.refresh import lists_refresh
from bounceadmin.webhooks.setup import webhook_set_up
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

T0 = 1_700_000_000


def calls_for(sandbox, name: str) -> set[str]:
    """The hosts (regions) the calls on behalf of `name` went to."""
    return {r["region"] for r in sandbox.requests if r["on_behalf_of"] == name}


@pytest.fixture
def paris(upstream):
    """An EU subuser and a global one upstream, with bounces and blocks, synced here."""
    for name, region in (("paris", "eu"), ("boston", "global")):
        upstream.store.add_subuser(name, region=region)
        upstream.store.add_bounces(
            name, [{"email": f"{name}{i}@example.com", "created": T0 + i} for i in range(3)]
        )
        upstream.store.lists.add(
            "blocks", name, [{"email": f"b-{name}@example.com", "created": T0, "reason": "550",
                              "status": "5.7.1"}],
        )  # fmt: skip
    subusers_sync()
    return Subuser.objects.get(username="paris")


def test_the_sync_records_each_region_and_a_change_upstream(upstream, settings):
    settings.SENDGRID_PARENT_LISTS = True
    upstream.store.add_subuser("paris", region="eu")
    upstream.store.add_subuser("boston")

    subusers_sync()
    regions = dict(Subuser.objects.values_list("username", "region"))
    upstream.store.add_subuser("boston", region="eu")
    again = subusers_sync()

    assert regions == {"paris": "eu", "boston": "global", settings.SENDGRID_PARENT_NAME: "global"}
    assert again.updated == ["boston"]
    assert Subuser.objects.get(username="boston").region == "eu"
    assert Subuser.objects.get(is_parent=True).on_behalf_of is None
    assert {(r["path"], r["region"]) for r in upstream.requests} == {("/v3/subusers", "global")}


def test_an_eu_subusers_bounces_are_refreshed_through_the_eu_host(upstream, paris):
    run = bounces_refresh(subuser=paris, full=True)

    assert (run.outcome, run.created) == ("ok", 3), run.error
    assert set(Bounce.objects.filter(subuser=paris).values_list("email", flat=True)) == {
        "paris0@example.com", "paris1@example.com", "paris2@example.com",
    }  # fmt: skip
    assert calls_for(upstream, "paris") == {"eu"}


def test_an_eu_subusers_other_lists_are_refreshed_through_the_eu_host(upstream, paris):
    runs = lists_refresh(subuser=paris, full=True)

    assert {run.outcome for run in runs.values()} == {"ok"}, [r.error for r in runs.values()]
    blocks = Suppression.objects.filter(subuser=paris, list="blocks")
    assert list(blocks.values_list("email", flat=True)) == ["b-paris@example.com"]
    assert calls_for(upstream, "paris") == {"eu"}


def test_the_command_refreshes_both_regions_with_one_client(upstream, paris):
    out = StringIO()

    call_command("refresh_bounces", "--full", "--lists", stdout=out)

    assert "paris: fetched 3, created 3" in out.getvalue()
    assert "boston: fetched 3, created 3" in out.getvalue()
    assert "FAILED" not in out.getvalue()
    assert calls_for(upstream, "paris") == {"eu"}
    assert calls_for(upstream, "boston") == {"global"}


def test_a_deletion_and_a_removal_are_pushed_through_the_eu_host(upstream, paris):
    bounces_refresh(subuser=paris, full=True)
    lists_refresh(subuser=paris, full=True)
    requester, approver = make_user("rita", role="requester"), make_user("arne", role="approver")
    [bounces] = services.deletion_request_create(
        user=requester, bounces=Bounce.objects.filter(subuser=paris), justification="INC-7"
    )
    [blocks] = removal_request_create(
        user=requester, entries=Suppression.objects.filter(subuser=paris, list="blocks"),
        justification="delisted",
    )  # fmt: skip
    upstream.clear_requests()

    for request in (bounces, blocks):
        services.deletion_approve(request_id=request.pk, user=approver)
        assert deletion_push(request_id=request.pk).state == "done"

    assert upstream.store.count("paris") == 0
    assert upstream.store.lists.entries("blocks", "paris") == []
    deletes = [r for r in upstream.requests if r["method"] == "DELETE"]
    assert len(deletes) == 2
    assert {(r["on_behalf_of"], r["region"], r["status"]) for r in deletes} == {
        ("paris", "eu", 204)
    }


def test_an_eu_subusers_webhook_is_set_up_through_the_eu_host(upstream, paris):
    result = webhook_set_up(paris, public_url="https://dashboard.example")

    assert not result.failed, result.error
    [hook] = upstream.store.webhooks.list_for("paris")
    assert hook["url"].startswith("https://dashboard.example/webhooks/sendgrid/")
    assert calls_for(upstream, "paris") == {"eu"}
