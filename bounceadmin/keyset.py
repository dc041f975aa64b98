"""Keyset ("seek") paging for a long list: a page is the rows that follow a cursor, the sort key
and id of the row the page before ended on, so that the ten-thousandth page, like the first, is a
walk of an index from that row (OFFSET reads and drops every row before it). Every match is
reached by following Next, however many there are, and counting them is not needed.

The list's sorts are one column each, the id breaking ties in the sort's direction, so the order
is total and a cursor names one place in it. Each sort needs an index on (column, id) to be
fast; a nullable column cannot be one (NULL sorts last on PostgreSQL and first on SQLite, and a
row-value comparison with NULL matches nothing).

A cursor travels in the URL as `after=` (Next) or `before=` (Previous), an opaque token: the sort
it was made in, the row's key and id, and the position of the page it leads to (for the label
"rows 1,001–1,050" only). One that does not decode, or was made in another sort, is ignored, as a
`page=` that is not a number is: the list starts at its first page. `page=N` still pages by
offset through the counted first rows (the page numbers' links).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.http import QueryDict
from django_tables2.rows import BoundRows

CURSOR_PARAMETERS = ("page", "after", "before")
_MAX_TOKEN = 2_000
_MAX_ID = 2**63 - 1


class RowAfter(Func):
    """`(key, id) > (k, i)`, or `<` for a descending sort: the rows after a cursor. Both
    databases compare row values column by column and start an index scan on (key, id) there
    (SQLite since 3.15), where `key > k OR (key = k AND id > i)` would be a filter."""

    conditional = True
    output_field = BooleanField()
    arity = 4

    def __init__(self, key, pk, key_value, pk_value, *, descending: bool):
        self.operator = "<" if descending else ">"
        super().__init__(key, pk, key_value, pk_value)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = [], []
        for expression in self.get_source_expressions():
            part, part_params = compiler.compile(expression)
            sql.append(part)
            params.extend(part_params)
        return f"({sql[0]}, {sql[1]}) {self.operator} ({sql[2]}, {sql[3]})", params


@dataclass(frozen=True)
class Cursor:
    sort: str  # the list's sort= it belongs to, e.g. "-created"
    key: object  # the row's value in the sort's column
    pk: int
    position: int  # of the first row of the page it leads to, from 1; 0 when not known


def cursor_token(cursor: Cursor) -> str:
    data = [cursor.sort, cursor.key, cursor.pk, cursor.position]
    raw = json.dumps(data, default=_as_text, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _as_text(value) -> str:
    # isoformat() keeps microseconds, which DjangoJSONEncoder rounds to milliseconds: a cursor
    # must name its row's key exactly.
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def cursor_read(token: str | None, *, sort: str, key_field) -> Cursor | None:
    """The cursor in `token` when it is one of this sort, else None (never an error: it came
    from a URL)."""
    if not token or len(token) > _MAX_TOKEN:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        made_in, key, pk, position = json.loads(raw)
        key = key_field.to_python(key)
    except (ValueError, TypeError, binascii.Error, ValidationError, UnicodeDecodeError):
        return None
    if made_in != sort or key is None:
        return None
    if isinstance(key, str) and "\x00" in key:
        return None  # PostgreSQL refuses NUL in text
    if isinstance(key, datetime) and key.tzinfo is None:
        return None
    for number, least in ((pk, 1), (position, 0)):
        if type(number) is not int or not least <= number <= _MAX_ID:
            return None
    return Cursor(sort=sort, key=key, pk=pk, position=position)


@dataclass
class Counted:
    """The list's count, as `table.paginator`: at most `cap` counted, `capped` when there are
    more; `num_pages` is how many pages of `per_page` the counted rows fill (the numbered
    links)."""

    count: int
    capped: bool
    per_page: int

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))


@dataclass
class KeysetPage:
    """One page of the list, as `table.page`: its rows, where it is, and the query strings of
    the links around it."""

    object_list: BoundRows
    number: int | None  # its page number when it is one of the numbered pages
    position: int | None  # the position of its first row, from 1, when known
    next_query: str | None = None
    previous_query: str | None = None
    numbers: list[tuple[int | None, str | None]] = field(default_factory=list)

    def has_next(self) -> bool:
        return self.next_query is not None

    def has_previous(self) -> bool:
        return self.previous_query is not None

    def start_index(self) -> int | None:
        return self.position

    def end_index(self) -> int | None:
        if self.position is None:
            return None
        return self.position + len(self.object_list.data) - 1


def keyset_paginate(
    table,
    query: QueryDict,
    *,
    sort: str,
    name: str,
    descending: bool,
    count: int,
    capped: bool,
    per_page: int,
) -> None:
    """Set `table.paginator` and `table.page` to the page `query` asks for (after=, before=,
    page=) in the list's `sort` (its sort= value), the order of the model field `name`;
    `table.data.data` is the list's queryset, sorted or not."""
    queryset: QuerySet = table.data.data
    key_field = queryset.model._meta.get_field(name)
    if key_field.null:
        raise ImproperlyConfigured(f"{name} may be NULL: it cannot be a keyset sort")
    seek = _Seek(queryset, name, key_field, descending)
    counted = Counted(count=count, capped=capped, per_page=per_page)

    def cursor(row, position: int | None) -> str:
        key = getattr(row, key_field.attname)
        return cursor_token(Cursor(sort, key, row.pk, position if position and position > 0 else 0))

    found = _find(seek, query, sort, counted)
    table_page_set(table, found, query, counted, cursor=cursor, data=found.rows)


def table_page_set(table, found, query: QueryDict, counted: Counted, *, cursor, data) -> None:
    """Set `table.paginator` and `table.page` to `found` (its rows, position, page number and
    whether more rows lie before and after): the links to the next, previous and numbered pages
    (`cursor(row, position)` makes a row's token), the page showing `data` (its rows as the
    table shows them)."""
    per_page = counted.per_page
    rows, position, number = found.rows, found.position, found.number
    if number is None and position is not None and (position - 1) % per_page == 0:
        number = (position - 1) // per_page + 1  # a cursor's page that is a numbered one
        number = number if number <= counted.num_pages else None

    def link(**values) -> str:
        link_query = query.copy()
        for key in CURSOR_PARAMETERS:
            link_query.pop(key, None)
        for key, value in values.items():
            link_query[key] = str(value)
        return link_query.urlencode()

    page = KeysetPage(
        object_list=BoundRows(data=data, table=table), number=number, position=position
    )
    if found.more_after and rows:
        page.next_query = link(after=cursor(rows[-1], position and position + len(rows)))
    if found.more_before and found.number is not None:
        page.previous_query = link(page=number - 1) if number > 2 else link()
    elif found.more_before and rows:
        page.previous_query = link(before=cursor(rows[0], position and position - per_page))
    page.numbers = [
        (n, None if n is None else (link(page=n) if n > 1 else link()))
        for n in page_numbers(number, counted.num_pages)
    ]
    table.paginator = counted
    table.page = page


@dataclass
class _Found:
    rows: list
    more_before: bool
    more_after: bool
    position: int | None  # of its first row, when known
    number: int | None = None  # when asked for by number (page=), not by cursor


def _find(seek: _Seek, query: QueryDict, sort: str, counted: Counted) -> _Found:
    per_page = counted.per_page
    after = cursor_read(query.get("after"), sort=sort, key_field=seek.key_field)
    before = (
        None if after else cursor_read(query.get("before"), sort=sort, key_field=seek.key_field)
    )
    if after:
        rows, more = seek.rows(after, per_page, forward=True)
        if rows:
            return _Found(rows, more_before=True, more_after=more, position=after.position or None)
        # Nothing after it (the rows after it went): the last page.
        rows, more = seek.rows(None, per_page, forward=False)
        return _Found(rows, more_before=more, more_after=False, position=None)
    if before:
        rows, more = seek.rows(before, per_page, forward=False)
        if more:
            return _Found(rows, more_before=True, more_after=True, position=before.position or None)
        # It reached the first row: the first page, full.
    number = 1 if before else _page_number(query.get("page"), counted.num_pages)
    offset = (number - 1) * per_page
    rows = list(seek.ordered()[offset : offset + per_page + 1])
    return _Found(
        rows[:per_page],
        more_before=number > 1,
        more_after=len(rows) > per_page,
        position=offset + 1,
        number=number,
    )


class _Seek:
    def __init__(self, queryset: QuerySet, name: str, key_field, descending: bool):
        self.queryset = queryset
        self.name = name
        self.key_field = key_field
        self.descending = descending

    def ordered(self, *, reverse: bool = False) -> QuerySet:
        descending = self.descending != reverse
        if descending:
            return self.queryset.order_by(F(self.name).desc(), F("pk").desc())
        return self.queryset.order_by(F(self.name).asc(), F("pk").asc())

    def rows(self, cursor: Cursor | None, per_page: int, *, forward: bool) -> tuple[list, bool]:
        """Up to `per_page` rows after `cursor` (or before it, nearest last), in the list's order,
        and whether there are more beyond them."""
        queryset = self.ordered(reverse=not forward)
        if cursor is not None:
            queryset = queryset.filter(
                RowAfter(
                    F(self.name),
                    F("pk"),
                    Value(cursor.key, output_field=self.key_field),
                    Value(cursor.pk),
                    descending=self.descending == forward,
                )
            )
        rows = list(queryset[: per_page + 1])
        more, rows = len(rows) > per_page, rows[:per_page]
        return (rows if forward else rows[::-1]), more


def _page_number(value: str | None, last: int) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), last)


def page_numbers(current: int | None, last: int, *, around: int = 2) -> list[int | None]:
    """The numbered links: the first and last, and those around the current page; None where
    numbers are left out."""
    shown = {1, last} | set(range((current or 1) - around, (current or 1) + around + 1))
    numbers: list[int | None] = []
    for n in sorted(n for n in shown if 1 <= n <= last):
        if numbers and n - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(n)
    return numbers if last > 1 else []


# The API's cursor pagination (api/v1/pagination.py) seeks the list's way, through this.
Seek = _Seek
