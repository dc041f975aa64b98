"""The first load of an empty cache runs without the list indexes; they always exist after."""

import pytest
from django.core.management import call_command
from django.db import connection

from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.refresh.list_indexes import list_index_sql, list_indexes_missing
from bounceadmin.bounces.refresh.pipeline import bounces_refresh_each
from bounceadmin.bounces.subusers import subusers_sync
from tests.bounces.refresh.test_refresh import row
from tests.bounces.refresh.test_summaries import assert_summaries_exact

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(upstream):
    for name in ("alpha", "beta", "gamma"):
        upstream.store.add_subuser(name)
        upstream.store.add_bounces(name, [row(i, domain=f"{name}.test") for i in range(30)])
    subusers_sync()
    return list(Subuser.objects.order_by("username"))


def names() -> list[str]:
    return sorted(list_index_sql())


def test_an_empty_cache_loads_without_them_and_builds_them_at_the_end(three, sg):
    assert len(names()) >= 4 and not list_indexes_missing()
    missing_while_loading = []
    for _ in bounces_refresh_each(three, full=True, client=sg):
        missing_while_loading.append(sorted(list_indexes_missing()))

    assert missing_while_loading == [names()] * 3
    assert not list_indexes_missing()
    assert Bounce.objects.count() == 90


def test_a_cache_with_rows_keeps_them(three, sg):
    list(bounces_refresh_each(three[:1], full=True, client=sg))

    for _ in bounces_refresh_each(three, full=True, client=sg):
        assert not list_indexes_missing()
    assert Bounce.objects.count() == 90


def test_a_load_stopped_part_way_still_builds_them(three, sg):
    loading = bounces_refresh_each(three, full=True, client=sg)
    next(loading)
    assert list_indexes_missing()

    loading.close()

    assert not list_indexes_missing()


def test_migrate_builds_any_that_a_dead_load_left_missing():
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name in names()[:2]:
            cursor.execute(f"DROP INDEX {quote(name)}")
    assert list_indexes_missing() == [n for n in list_index_sql() if n in names()[:2]]

    call_command("migrate", verbosity=0)

    assert not list_indexes_missing()


def test_the_first_load_leaves_exact_summaries(three, sg):
    list(bounces_refresh_each(three, full=True, client=sg))

    for sub in three:
        assert_summaries_exact(sub)
