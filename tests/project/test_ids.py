"""Ids from URLs: out of the 64-bit range they are a 404 in a path and "not valid" in a query
string, never an OverflowError (SQLite) or a bigint error (PostgreSQL) turned into a 500."""

import pytest
from django.db import connection
from django.urls import Resolver404, resolve

from bounceadmin.bounces.models import Bounce
from bounceadmin.deletions.models import DeletionRequest
from bounceadmin.ids import MAX_ID, parse_id
from tests.support.factories import make_bounce, make_subuser, make_user

HUGE = "99999999999999999999999"
OUT_OF_RANGE = [HUGE, str(MAX_ID + 1), "0", "-1", f"-{HUGE}"]


@pytest.fixture
def bounce(db):
    return make_bounce(make_subuser("alpha"), "a@example.com")


@pytest.mark.parametrize(
    "value, expected",
    [("1", 1), ("0042", 42), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), (HUGE, None),
     ("0", None), ("-1", None), ("+1", None), (" 1", None), ("1_0", None), ("٣", None),
     ("²", None), ("", None), (None, None), ("1" * 400, None)],
)  # fmt: skip
def test_parse_id_takes_only_ids_a_row_can_have(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("prefix", ["/bounces/", "/deletions/"])
def test_id_paths_match_only_the_64_bit_range(prefix):
    assert resolve(f"{prefix}{MAX_ID}/").kwargs == {"pk": MAX_ID}
    for value in (str(MAX_ID + 1), HUGE, "0"):
        with pytest.raises(Resolver404):
            resolve(f"{prefix}{value}/")


@pytest.mark.parametrize("value", [HUGE, str(MAX_ID + 1), str(MAX_ID)])
def test_out_of_range_ids_in_paths_are_404(client, bounce, value):
    client.force_login(make_user("root", role="admin"))

    assert client.get(f"/bounces/{value}/").status_code == 404
    assert client.get(f"/deletions/{value}/").status_code == 404
    for action in ("approve", "reject", "retry"):
        assert client.post(f"/deletions/{value}/{action}/").status_code == 404


@pytest.mark.parametrize("value", [*OUT_OF_RANGE, "٣"])
def test_a_selection_with_an_id_no_row_can_have_is_refused(client, bounce, value):
    client.force_login(make_user("rita", role="requester"))
    query = f"bounce={bounce.pk}&bounce={value}"

    shown = client.get(f"/deletions/new/?{query}", follow=True)
    posted = client.post(f"/deletions/new/?{query}", {"justification": "x"}, follow=True)

    for response in (shown, posted):
        assert response.redirect_chain == [("/bounces/", 302)]
        assert "The selection is not valid." in response.content.decode()
    assert not DeletionRequest.objects.exists()


def test_a_selection_of_the_largest_id_is_valid_and_empty(client, bounce):
    client.force_login(make_user("rita", role="requester"))

    response = client.get(f"/deletions/new/?bounce={MAX_ID}", follow=True)

    assert "The selection holds no address" in response.content.decode()


@pytest.mark.parametrize(
    "lookup, with_a_real_id",
    [("id__in", False), ("id__in", True), ("subuser", False), ("subuser_id__in", False),
     ("subuser_id__in", True)],
)  # fmt: skip
def test_django_admin_answers_out_of_range_ids_without_a_500(
    client, bounce, lookup, with_a_real_id
):
    """Django admin turns URL parameters into lookups itself. PostgreSQL compares a huge number
    as numeric and matches only the real ids; SQLite cannot bind it: a bad request."""
    client.force_login(make_user("root", role="admin", is_staff=True, is_superuser=True))
    real = bounce.pk if lookup == "id__in" else bounce.subuser_id
    value = f"{real},{HUGE}" if with_a_real_id else HUGE

    response = client.get("/admin/bounces/bounce/", {lookup: value})

    if connection.vendor == "sqlite":
        assert response.status_code == 400
    else:
        assert response.status_code == 200
        expected = [bounce] if value != HUGE else []
        assert list(response.context["cl"].result_list) == expected


def test_django_admin_actions_on_out_of_range_ids_do_nothing(client, bounce):
    client.force_login(make_user("root", role="admin", is_staff=True, is_superuser=True))
    action = {"action": "delete_selected", "_selected_action": [HUGE], "post": "yes"}

    response = client.post("/admin/bounces/bounce/", action)

    assert response.status_code == (400 if connection.vendor == "sqlite" else 302)
    assert Bounce.objects.count() == 1
