"""The other lists' cache: what the database itself refuses, on both databases."""

import pytest
from django.db import IntegrityError, transaction

from bounceadmin.bounces.models import Subuser
from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.models import Suppression
from tests.support.factories import make_group, make_subuser, make_suppression

pytestmark = pytest.mark.django_db


def refused(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_an_address_is_on_a_list_once_per_subuser():
    acme, globex = make_subuser("acme"), make_subuser("globex")
    make_suppression(acme, "pat@example.com", SuppressionList.BLOCKS)
    assert refused(lambda: make_suppression(acme, "pat@example.com", SuppressionList.BLOCKS))
    # Another list, or another subuser, is another entry.
    make_suppression(acme, "pat@example.com", SuppressionList.SPAM_REPORTS)
    make_suppression(globex, "pat@example.com", SuppressionList.BLOCKS)
    assert Suppression.objects.filter(email="pat@example.com").count() == 3


def test_an_address_is_in_a_group_once_and_in_several_groups():
    acme = make_subuser("acme")
    news, product = make_group(acme, "Newsletter"), make_group(acme, "Product updates")
    make_suppression(acme, "pat@example.com", group=news)
    make_suppression(acme, "pat@example.com", group=product)
    assert refused(lambda: make_suppression(acme, "pat@example.com", group=news))


def test_group_unsubscribes_and_only_they_have_a_group():
    acme = make_subuser("acme")
    news = make_group(acme)
    assert refused(
        lambda: Suppression.objects.create(
            subuser=acme,
            list=SuppressionList.BLOCKS,
            group=news,
            email="a@example.com",
            created="2026-01-01T00:00Z",
            first_seen="2026-01-01T00:00Z",
            last_seen="2026-01-01T00:00Z",
        )  # fmt: skip
    )
    assert refused(
        lambda: Suppression.objects.create(
            subuser=acme,
            list=SuppressionList.GROUP_UNSUBSCRIBES,
            email="a@example.com",
            created="2026-01-01T00:00Z",
            first_seen="2026-01-01T00:00Z",
            last_seen="2026-01-01T00:00Z",
        )  # fmt: skip
    )


def test_there_is_one_parent_account_and_it_is_called_without_on_behalf_of():
    parent = Subuser.objects.create(username="parent", is_parent=True)
    assert parent.on_behalf_of is None
    assert make_subuser("acme").on_behalf_of == "acme"
    assert refused(lambda: Subuser.objects.create(username="other", is_parent=True))
    assert list(Subuser.objects.values_list("username", flat=True))[0] == "parent"


def test_the_pages_lists_are_the_clients_lists():
    """Two enums, one for upstream's paths (sendgrid/lists.py) and one for the pages' labels
    (suppressions/lists.py): the same names, so a list's value passes from one to the other."""
    from bounceadmin.sendgrid.lists import SuppressionList as UpstreamList

    assert [m.value for m in SuppressionList] == [m.value for m in UpstreamList]
