"""Keyset paging through two tables as one list: bounces (`Bounce`) and the other lists
(`Suppression`), by date.

The order is total: (created, side, id), where `side` is a fixed rank of the table (bounces
above the other lists when newest come first, below when oldest do). A page is the rows that
follow a cursor (that key of the row the page before ended on), read from each table by its own
(created, id) index and merged here: per_page + 1 rows from each side are enough for a page and
for knowing whether another follows.

On each side the cursor's condition is a (created, id) row comparison (keyset.RowAfter), which
an index walk starts from: on the cursor's own side with the cursor's id; on the other side, at
the cursor's `created`, a row ranks wholly before or after the cursor, so the id bound is 0 or
the largest id.

Cursors are keyset.py's tokens, their `sort` naming the side too ("-created~1"), so links,
bookmarks and bad tokens behave as on /bounces/ (one that does not decode starts the list over).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from django.db.models import F, QuerySet, Value
from django.http import QueryDict

from bounceadmin.keyset import (
    Counted,
    Cursor,
    RowAfter,
    cursor_read,
    cursor_token,
    table_page_set,
)
from bounceadmin.listing import capped_count

from .models import Suppression

BOUNCES, OTHERS = 1, 0  # the sides' ranks in ties on `created`
SORTS = ("-created", "created")
_CREATED = Suppression._meta.get_field("created")
_MAX_ID = 2**63 - 1  # above every id (bigint)


@dataclass(frozen=True)
class Side:
    rank: int
    queryset: QuerySet | None  # None: this side is filtered out


def _key(rank: int, row) -> tuple:
    return (row.created, rank, row.pk)


def _seek(side: Side, cursor: Cursor | None, cursor_rank: int, n: int, *, descending: bool):
    """Up to n rows of one side beyond `cursor` in the direction of the walk, nearest first,
    each as (key, row)."""
    if side.queryset is None or n <= 0:
        return []
    if descending:
        queryset = side.queryset.order_by(F("created").desc(), F("pk").desc())
    else:
        queryset = side.queryset.order_by(F("created").asc(), F("pk").asc())
    if cursor is not None:
        if side.rank == cursor_rank:
            bound = cursor.pk
        elif side.rank < cursor_rank:
            bound = _MAX_ID  # a row of this side at the cursor's time ranks below it
        else:
            bound = 0  # ... above it
        queryset = queryset.filter(
            RowAfter(F("created"), F("pk"), Value(cursor.key, output_field=_CREATED),
                     Value(bound), descending=descending)
        )  # fmt: skip
    return [(_key(side.rank, row), row) for row in queryset[:n]]


def _merge(sides, cursor, cursor_rank, n, *, descending):
    runs = [_seek(s, cursor, cursor_rank, n, descending=descending) for s in sides]
    merged = heapq.merge(*runs, key=lambda pair: pair[0], reverse=descending)
    return [row for _key, row in merged][:n]


@dataclass
class UnionPage:
    rows: list
    more_before: bool
    more_after: bool
    position: int | None
    number: int | None = None


def _read(query: QueryDict, name: str, sort: str) -> tuple[Cursor, int] | None:
    return union_cursor_read(query.get(name), sort)


def union_cursor_read(token: str | None, sort: str) -> tuple[Cursor, int] | None:
    """The cursor in `token` and its side's rank, when it is one of this list in `sort`."""
    for rank in (BOUNCES, OTHERS):
        cursor = cursor_read(token, sort=f"{sort}~{rank}", key_field=_CREATED)
        if cursor is not None:
            return cursor, rank
    return None


def union_find(sides: list[Side], query: QueryDict, *, sort: str, counted: Counted) -> UnionPage:
    """The page `query` asks for (after=, before=, page=), as keyset._find does for one table."""
    descending = sort.startswith("-")
    per_page = counted.per_page
    after = _read(query, "after", sort)
    before = None if after else _read(query, "before", sort)
    if after:
        (cursor, rank), n = after, per_page + 1
        rows = _merge(sides, cursor, rank, n, descending=descending)
        if rows:
            return UnionPage(rows[:per_page], True, len(rows) > per_page, cursor.position or None)
        # Nothing after it (the rows after it went): the last page.
        rows = _merge(sides, None, 0, n, descending=not descending)[::-1]
        return UnionPage(rows[-per_page:], len(rows) > per_page, False, None)
    if before:
        cursor, rank = before
        rows = _merge(sides, cursor, rank, per_page + 1, descending=not descending)
        if len(rows) > per_page:
            return UnionPage(rows[:per_page][::-1], True, True, cursor.position or None)
        # It reached the first row: the first page, full.
    number = 1 if before else _page_number(query.get("page"), counted.num_pages)
    offset = (number - 1) * per_page
    rows = _merge(sides, None, 0, offset + per_page + 1, descending=descending)[offset:]
    return UnionPage(rows[:per_page], number > 1, len(rows) > per_page, offset + 1, number)


def _page_number(value: str | None, last: int) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), last)


def union_count(sides: list[Side], cap: int) -> tuple[int, bool]:
    """The matches of both sides, at most `cap` counted on each."""
    total, capped = 0, False
    for side in sides:
        if side.queryset is not None:
            count, more = capped_count(side.queryset, cap)
            total, capped = total + count, capped or more
    return min(total, cap), capped or total > cap


def union_cursor_token(row, sort: str, position: int | None = None) -> str:
    """The token of a cursor at `row` (a Bounce or a Suppression) in `sort`."""
    rank = BOUNCES if row._meta.model_name == "bounce" else OTHERS
    at = position if position and position > 0 else 0
    return cursor_token(Cursor(f"{sort}~{rank}", row.created, row.pk, at))


def union_paginate(table, sides, query: QueryDict, *, sort: str, per_page: int, cap: int):
    """Set `table.paginator` and `table.page` (keyset.py's shapes, so the bounce list's
    pagination template serves) to the page `query` asks for, its rows made the table's
    entries by `table.entry`."""
    count, capped = union_count(sides, cap)
    counted = Counted(count=count, capped=capped, per_page=per_page)
    found = union_find(sides, query, sort=sort, counted=counted)
    entries = [table.entry(row) for row in found.rows]
    table.data.data = entries

    def cursor(row, at: int | None) -> str:
        return union_cursor_token(row, sort, at)

    table_page_set(table, found, query, counted, cursor=cursor, data=entries)
