"""The one CSV writer of every export: cells made text and safe for spreadsheets (`defuse`, for
every text cell), rows ended as csv.writer ends them. Exports format a chunk of rows at a time
with these, far cheaper than csv.writer, which copies every character; the tests hold the output
equal to csv.writer's."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo

# Spreadsheets run cells that start with these as formulas; upstream text is untrusted. Excel and
# LibreOffice also skip leading whitespace before a formula, and Japanese and Chinese input
# methods type the full-width forms, which some spreadsheets take for the ASCII ones.
FORMULA_START = frozenset("=+-@\t\r＝＋－＠")
# Leading characters a spreadsheet may skip before a formula: what str.isspace() calls
# whitespace (spaces, tabs, line breaks, no-break and ideographic spaces) and zero-width ones.
_LEADING_BLANKS = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")


def defuse(value: str) -> str:
    """`value` made safe to open in a spreadsheet, the OWASP way: a cell that would start a
    formula gets a leading `'`, which spreadsheets read as "text" and do not show. Every CSV
    writer goes through here. One first-character test per cell; only cells that start with a
    blank are looked at further (the exports write millions of cells)."""
    first = value[:1]
    if first in FORMULA_START:
        return "'" + value
    if first and (first.isspace() or first in "\u200b\u200c\u200d\u2060\ufeff"):
        blanks = _LEADING_BLANKS.match(value)
        if blanks and value[blanks.end() : blanks.end() + 1] in FORMULA_START:
            return "'" + value
    return value


def datetime_text(tz: tzinfo) -> Callable[[datetime | str | None], str]:
    """A datetime's cell (ISO 8601 to the second, in `tz`), remembering recent ones: first_seen,
    last_seen and removed_at repeat over many rows. Takes aware datetimes, and what a raw cursor
    gives on SQLite: naive UTC datetimes, or their text (`AsStored`)."""
    utc = getattr(tz, "key", None) in ("UTC", "Etc/UTC") or tz is UTC
    memo: dict[datetime, str] = {}

    def text(value: datetime | str | None) -> str:
        if value is None:
            return ""
        found = memo.get(value)
        if found is None:
            key = value
            if type(value) is str:  # SQLite's own text (AsStored): naive UTC
                value = datetime.fromisoformat(value)
            if value.tzinfo is None:  # SQLite: UTC
                if utc:
                    found = value.isoformat("T", "seconds") + "+00:00"
                else:
                    found = value.replace(tzinfo=UTC).astimezone(tz).isoformat("T", "seconds")
            else:
                found = value.astimezone(tz).isoformat("T", "seconds")
            if len(memo) >= 10_000:
                memo.clear()
            memo[key] = found
        return found

    return text


def text_cell(value: str) -> str:
    """One text field as csv.writer writes it (default dialect, minimal quoting), defused first;
    a field with a comma, quote or line break is quoted."""
    value = defuse(value)
    if '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(cells: Iterable[str]) -> str:
    """A row of cells already made text (text_cell, datetime_text) as csv.writer ends it."""
    return ",".join(cells) + "\r\n"


def number_cell(value: int | None) -> str:
    return "" if value is None else str(value)
