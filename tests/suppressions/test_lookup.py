"""/lookup/: one address on every list of every subuser the user may see, what each entry says
and what can be done about it, in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bounceadmin.bounces.models import BounceChange, Subuser
from bounceadmin.deletions.models import DeletionItem, DeletionRequest
from bounceadmin.suppressions.lookup import address_lookup
from bounceadmin.suppressions.models import SuppressionChange, SuppressionListState
from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

pytestmark = pytest.mark.django_db

ADDRESS = "pat@example.com"
CONSENT = "Removal needs the recipient's recorded consent and a separate permission"


@pytest.fixture
def requester(client):
    user = make_user("rita", role="requester")
    client.force_login(user)
    return user


def test_lookup_shows_every_list_and_the_verdict(client, requester):
    acme, globex = make_subuser("acme"), make_subuser("globex")
    make_bounce(acme, ADDRESS, reason="550 <b>no such user</b>")
    make_suppression(globex, ADDRESS, "global_unsubscribes")
    make_suppression(globex, ADDRESS, "blocks", status="554", reason="blocked")
    make_suppression(acme, ADDRESS, "spam_reports", removed=True)
    make_bounce(acme, "other@example.com")

    response = client.get("/lookup/", {"email": " Pat@Example.com "})

    assert response.status_code == 200
    found = response.context["found"]
    assert found.email == ADDRESS
    assert [(e.list, e.record.subuser.username) for e in found.active] == [
        ("bounces", "acme"), ("blocks", "globex"), ("global_unsubscribes", "globex"),
    ]  # fmt: skip
    assert [e.list for e in found.removed] == ["spam_reports"]
    html = response.content.decode()
    assert "Suppressed on 3 lists in 2 subusers" in html
    assert "&lt;b&gt;no such user&lt;/b&gt;" in html  # untrusted text, escaped
    assert "Invalid Address" in html  # the bounce's classification
    assert CONSENT in html  # on the unsubscribe
    assert "/deletions/new/" in html  # a requester may ask to remove the bounce


def test_lookup_of_an_address_on_no_list_says_when_we_last_looked(client, requester):
    acme = make_subuser("acme")
    refreshed = timezone.now() - timedelta(hours=3)
    Subuser.objects.filter(pk=acme.pk).update(last_success_at=refreshed - timedelta(hours=1))
    SuppressionListState.objects.create(subuser=acme, list="blocks", last_success_at=refreshed)

    response = client.get("/lookup/", {"email": "nobody@example.com"})

    assert response.context["found"].entries == []
    assert response.context["found"].last_refreshed == refreshed
    html = response.content.decode()
    assert "Not on any list we cache" in html and "3\xa0hours ago" in html


def test_lookup_shows_history_and_pending_removals(client, requester):
    acme = make_subuser("acme")
    bounce = make_bounce(acme, ADDRESS)
    block = make_suppression(acme, ADDRESS, "blocks")
    now = timezone.now()
    BounceChange.objects.create(bounce=bounce, kind="changed", at=now, old_status="4.2.2")
    SuppressionChange.objects.create(suppression=block, kind="reappeared", at=now)
    request = DeletionRequest.objects.create(
        subuser=acme, batch="00000000-0000-0000-0000-000000000001", requested_by=requester,
        justification="ticket 1", total=1,
    )  # fmt: skip
    DeletionItem.objects.create(request=request, bounce=bounce, email=ADDRESS)

    html = client.get("/lookup/", {"email": ADDRESS}).content.decode()

    assert "Bounced again" in html and "Reappeared" in html
    assert f"deletion request #{request.pk}" in html


def test_lookup_actions_for_a_viewer(client):
    client.force_login(make_user("val", role="viewer"))
    acme = make_subuser("acme")
    make_bounce(acme, ADDRESS)
    make_suppression(acme, ADDRESS, group=make_group(acme))
    html = client.get("/lookup/", {"email": ADDRESS}).content.decode()
    assert "/deletions/new/" not in html
    assert "requester role" in html and CONSENT in html


@pytest.mark.parametrize("text", ["", "   ", "pat", "pat@", "@example.com", "a b@example.com",
                                  "pat%@example.com", "x" * 400 + "@example.com"])  # fmt: skip
def test_lookup_of_a_malformed_address_is_a_form_error(client, requester, text):
    response = client.get("/lookup/", {"email": text})
    assert response.status_code == 200
    assert response.context["found"] is None
    assert response.context["form"].errors["email"]
    assert 'role="alert"' in response.content.decode()


def test_lookup_with_nul_is_a_clear_400(client, requester):
    response = client.get("/lookup/?email=pat%00@example.com")
    assert response.status_code == 400 and "NUL" in response.content.decode()


def test_lookup_without_an_address_shows_the_form(client, requester):
    response = client.get("/lookup/")
    assert response.status_code == 200 and not response.context["form"].errors


def test_lookup_takes_a_fixed_number_of_queries(requester, django_assert_max_num_queries):
    def populate(n):
        for i in range(n):
            subuser = make_subuser(f"sub{len(Subuser.objects.all())}-{i}")
            bounce = make_bounce(subuser, ADDRESS)
            BounceChange.objects.create(bounce=bounce, kind="changed", at=timezone.now())
            entry = make_suppression(subuser, ADDRESS, group=make_group(subuser))
            SuppressionChange.objects.create(suppression=entry, kind="removed", at=timezone.now())
            make_suppression(subuser, ADDRESS, "blocks")

    populate(2)
    requester = type(requester).objects.get(pk=requester.pk)  # no memoised scope
    with django_assert_max_num_queries(7) as few:
        address_lookup(requester, ADDRESS)
    populate(20)
    requester = type(requester).objects.get(pk=requester.pk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        found = address_lookup(requester, ADDRESS)
    assert len(found.entries) == 66


def test_lookup_page_queries_do_not_grow_with_subusers(
    client, requester, django_assert_max_num_queries
):
    for i in range(3):
        subuser = make_subuser(f"s{i}")
        make_bounce(subuser, ADDRESS)
        make_suppression(subuser, ADDRESS, "blocks")
    with django_assert_max_num_queries(15) as few:
        client.get("/lookup/", {"email": ADDRESS})
    for i in range(3, 30):
        subuser = make_subuser(f"s{i}")
        make_bounce(subuser, ADDRESS)
        make_suppression(subuser, ADDRESS, "spam_reports")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/lookup/", {"email": ADDRESS})


def test_header_search_looks_up_a_whole_address(client, requester):
    response = client.get("/lookup/", {"email": ADDRESS, "via": "search"})
    assert response.status_code == 200 and response.context["found"].email == ADDRESS
    # With an @ and no %, it is meant as an address: what is wrong with it is said.
    response = client.get("/lookup/", {"email": "pat@", "via": "search"})
    assert response.status_code == 200 and response.context["form"].errors["email"]


@pytest.mark.parametrize("text", ["pat", "%example.com", "pat%@example.com", ""])
def test_header_search_of_a_prefix_is_the_bounce_lists_search(client, requester, text):
    response = client.get("/lookup/", {"email": text, "via": "search"})
    assert response.status_code == 302
    follow = client.get(response.url)
    assert follow.status_code == 200
    assert follow.context["filter"].form.data.get("email") == text


def test_header_search_form_goes_to_the_lookup(client, requester):
    html = client.get("/bounces/").content.decode()
    assert 'action="/lookup/"' in html and 'name="via" value="search"' in html
    assert '<a href="/suppressions/"' in html  # the main navigation


def test_a_busy_address_reads_as_rows_counted_by_list_with_the_first_ones_shown(client, requester):
    """An address on many subusers' lists: one row each, counts by list at the top, and past
    ROWS_SHOWN rows a link to all of them (the verdict still counts every entry)."""
    from bounceadmin.suppressions.lookup import CARDS_MAX, ROWS_SHOWN

    subusers = [make_subuser(f"sub{i:02d}") for i in range(ROWS_SHOWN + 2)]
    for subuser in subusers:
        make_bounce(subuser, ADDRESS)
    for subuser in subusers[:3]:
        make_suppression(subuser, ADDRESS, "blocks", status="554", reason="<i>listed</i>")
    assert len(subusers) + 3 > CARDS_MAX

    page = client.get("/lookup/", {"email": ADDRESS}).content.decode()
    total = len(subusers) + 3
    assert f"Suppressed on 2 lists in {len(subusers)} subusers" in page
    assert f"({total} entries)" in page
    assert f"Bounces: {len(subusers)}</span>" in page and "Blocks: 3</span>" in page
    assert "entry-card" not in page
    assert page.count("<tr>") == ROWS_SHOWN + 1  # the header's row and the first rows
    assert f"Show all {total}</a>" in page
    assert "&lt;i&gt;listed&lt;/i&gt;" not in page  # the blocks come after the first rows

    everything = client.get("/lookup/", {"email": ADDRESS, "all": "1"}).content.decode()
    assert everything.count("<tr>") == total + 1
    assert "Show all" not in everything
    assert "&lt;i&gt;listed&lt;/i&gt;" in everything and "<i>listed</i>" not in everything


def test_a_few_entries_stay_cards(client, requester):
    acme = make_subuser("acme")
    make_bounce(acme, ADDRESS)
    page = client.get("/lookup/", {"email": ADDRESS}).content.decode()
    assert "entry-card" in page and "lookup-table" not in page


def test_a_busy_address_bounces_go_in_one_request_from_the_lookup(client, requester):
    subusers = [make_subuser(f"sub{i:02d}") for i in range(12)]
    bounces = [make_bounce(subuser, ADDRESS) for subuser in subusers]
    make_bounce(make_subuser("gone"), ADDRESS, removed=True)
    page = client.get("/lookup/", {"email": ADDRESS}).content.decode()
    assert "Request removal of its 12 bounces" in page

    ids = [str(b.pk) for b in bounces]
    preview = client.get("/deletions/new/", {"bounce": ids})
    assert preview.status_code == 200
    assert preview.context["preview"].total == 12


def test_an_entry_in_an_open_request_says_so_instead_of_offering_another(client, requester):
    from bounceadmin.deletions.other_lists import removal_request_create
    from bounceadmin.suppressions.models import Suppression

    acme = make_subuser("acme")
    block = make_suppression(acme, ADDRESS, "blocks", status="554")
    (removal,) = removal_request_create(
        user=requester, entries=Suppression.objects.filter(pk=block.pk), justification="fixed"
    )
    for path in ("/lookup/?email=" + ADDRESS, f"/suppressions/{block.pk}/"):
        page = client.get(path).content.decode()
        assert f"deletion request #{removal.pk}</a>" in page, path
        assert "Request removal</button>" not in page, path
