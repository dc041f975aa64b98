"""The overview's "Other lists" column: each subuser's active entries per list, read from the
counts the refresh keeps (SuppressionListState), never counted from the entries."""

import pytest

from bounceadmin.suppressions.models import SuppressionListState
from tests.support.factories import make_subuser, make_suppression, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client):
    client.force_login(make_user())


def state(subuser, name, active):
    SuppressionListState.objects.create(subuser=subuser, list=name, active=active)


def test_overview_shows_the_kept_counts_per_list(client, viewer):
    acme = make_subuser("acme")
    make_subuser("quiet")
    state(acme, "blocks", 12)
    state(acme, "global_unsubscribes", 1234)
    state(acme, "spam_reports", 0)
    make_suppression(acme, "not-counted@example.com", "invalid_emails")  # a row is no count

    response = client.get("/")

    rows = {r.username: r for r in response.context["rows"]}
    assert rows["acme"].other_lists == [("blocks", "blocks", 12),
                                        ("global_unsubscribes", "unsub", 1234)]  # fmt: skip
    assert rows["quiet"].other_lists == []
    html = response.content.decode()
    assert "/suppressions/?subuser=acme&amp;list=blocks" in html
    assert "unsub 1,234" in html


def test_overview_lists_the_parent_account_first(client, viewer):
    make_subuser("aardvark")
    make_subuser("the-parent", is_parent=True)
    response = client.get("/")
    assert [r.username for r in response.context["rows"]][0] == "the-parent"
    assert "parent account" in response.content.decode()


def test_overview_queries_do_not_grow_with_subusers(client, viewer, django_assert_max_num_queries):
    for i in range(3):
        state(make_subuser(f"s{i}"), "blocks", i + 1)
    with django_assert_max_num_queries(40) as few:
        client.get("/")
    for i in range(3, 40):
        subuser = make_subuser(f"s{i}")
        state(subuser, "blocks", i)
        state(subuser, "spam_reports", i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")
