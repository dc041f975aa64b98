"""Cursors of keyset paging come from URLs: they decode to what was encoded, and anything else
(another sort's, a forged or mangled one) is no cursor at all, never an error."""

import base64
import json
from datetime import UTC, datetime

import pytest

from bounceadmin.bounces.models import Bounce
from bounceadmin.keyset import Cursor, cursor_read, cursor_token, page_numbers

CREATED = Bounce._meta.get_field("created")
EMAIL = Bounce._meta.get_field("email")


def forged(*data) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(data)).encode()).decode()


def test_cursor_reads_back_what_it_was_made_of():
    when = datetime(2026, 12, 6, 21, 30, 5, 123456, tzinfo=UTC)
    by_date = Cursor("-created", when, 42, 1001)
    by_address = Cursor("email", "jo\u202ehn@x.test", 7, 0)  # 0: at no known position

    assert cursor_read(cursor_token(by_date), sort="-created", key_field=CREATED) == by_date
    assert cursor_read(cursor_token(by_address), sort="email", key_field=EMAIL) == by_address
    assert "=" not in cursor_token(by_date)  # no padding to escape in a URL


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not base64 !",
        "e30",  # {}
        forged("created", "2026-12-06T21:30:00+00:00", 42, 1),  # made in the other direction
        forged("-created", "2026-12-06T21:30:00", 42, 1),  # no zone
        forged("-created", "yesterday", 42, 1),
        forged("-created", None, 42, 1),
        forged("-created", "2026-12-06T21:30:00+00:00", 0, 1),
        forged("-created", "2026-12-06T21:30:00+00:00", 2**63, 1),
        forged("-created", "2026-12-06T21:30:00+00:00", "42", 1),
        forged("-created", "2026-12-06T21:30:00+00:00", True, 1),
        forged("-created", "2026-12-06T21:30:00+00:00", 42, -5),
        forged("-created", "2026-12-06T21:30:00+00:00", 42),
        "A" * 3000,
    ],
)
def test_cursor_that_is_not_one_of_this_sort_is_none(token):
    assert cursor_read(token, sort="-created", key_field=CREATED) is None


def test_cursor_with_a_nul_in_an_address_is_none():
    token = forged("email", "a\x00b@x.test", 42, 1)

    assert cursor_read(token, sort="email", key_field=EMAIL) is None


@pytest.mark.parametrize(
    "current,last,numbers",
    [
        (1, 1, []),
        (1, 3, [1, 2, 3]),
        (1, 20, [1, 2, 3, None, 20]),
        (10, 20, [1, None, 8, 9, 10, 11, 12, None, 20]),
        (None, 20, [1, 2, 3, None, 20]),
        (19, 20, [1, None, 17, 18, 19, 20]),
    ],
)
def test_page_numbers_show_the_ends_and_around_the_current_page(current, last, numbers):
    assert page_numbers(current, last) == numbers
