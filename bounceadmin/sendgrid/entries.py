"""Reading the entries of a suppression list: data written by strangers.

A bounce's address and reply text come from whoever was mailed and whatever mail server answered.
What can be stored is stored, adjusted where the database cannot hold it as sent: NUL characters
(PostgreSQL text cannot hold them) and unpaired surrogates (not UTF-8) are removed from a status or
reason, and a status longer than its column is cut. What cannot be stored is set aside, never
failing the rest of the page: an address longer than 320 characters (no valid address is; it could
be neither indexed nor matched) or holding NUL or surrogates (the address is the key a deletion
sends back upstream, so it is stored exactly or not at all), and entries without an address or a
usable time. Each adjustment is reported with the page, so a
refresh can say what it changed.

Most pages are clean: they are checked as a whole, at C speed, and read entry by entry only when
that check finds something.
"""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Any, NamedTuple

MAX_EMAIL = 320  # the Bounce.email column; RFC 5321's 64 + 1 + 255, rounded up
MAX_STATUS = 32  # the Bounce.status column
# Unix seconds that a timestamp column and Python's datetime both take: 1970 to 9999.
MAX_CREATED = 253402300799.0
LABEL_LENGTH = 120  # of an entry named in a report


class UpstreamBounce(NamedTuple):
    """One entry of a bounce list. A named tuple: a refresh makes a million of them, and a
    frozen dataclass costs four times as much to make."""

    email: str
    status: str
    reason: str
    created: float  # Unix seconds; SendGrid declares it a number, not an integer


class Adjustment(NamedTuple):
    """What was done to one entry: `entry` names it (cut to LABEL_LENGTH), `what` says what."""

    entry: str
    what: str
    set_aside: bool


class BouncePage(list):
    """The storable entries of one page, with what the page held beyond them."""

    __slots__ = ("received", "adjustments", "last_email", "_aside")

    def __init__(
        self,
        entries: list[UpstreamBounce],
        *,
        received: int,
        adjustments: list[Adjustment] | None = None,
        last_email: str | None = None,
        aside: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(entries)
        self.received = received  # entries in the response, storable or not: paging counts these
        self.adjustments = adjustments or []
        # The address of the page's last entry as sent, even if set aside: where the next page,
        # which re-reads the end of this one, must join up.
        self.last_email = last_email if last_email is not None or not entries else entries[-1][0]
        self._aside = aside

    def has_email(self, email: str) -> bool:
        return email in self._aside or any(b.email == email for b in self)


_email, _status, _reason, _created = (itemgetter(i) for i in range(4))


def parse_bounces(items: list[Any]) -> BouncePage:
    try:
        entries = [
            UpstreamBounce(
                item["email"].strip().lower(),  # no str(): an address must be text
                str(item.get("status") or ""),
                str(item.get("reason") or ""),
                float(item["created"]),
            )
            for item in items
        ]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return _parse_one_by_one(items)
    if entries and not (_clean(entries) and not any(type(i["created"]) is bool for i in items)):
        return _parse_one_by_one(items)
    return BouncePage(entries, received=len(items))


def _clean(entries: list[UpstreamBounce]) -> bool:
    """True when every entry can be stored exactly as read."""
    if min(map(len, map(_email, entries))) == 0 or max(map(len, map(_email, entries))) > MAX_EMAIL:
        return False
    if max(map(len, map(_status, entries))) > MAX_STATUS:
        return False
    if not all(0 <= created <= MAX_CREATED for created in map(_created, entries)):  # NaN too
        return False
    text = "".join(map(_email, entries)) + "".join(map(_status, entries))
    text += "".join(map(_reason, entries))
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate, from a \ud800-style JSON escape
        return False
    return True


def _parse_one_by_one(items: list[Any]) -> BouncePage:
    entries: list[UpstreamBounce] = []
    adjustments: list[Adjustment] = []
    aside: set[str] = set()
    last_email: str | None = None
    for item in items:
        entry, notes, set_aside = read_entry(item)
        last_email = entry.email if entry is not None else None
        label = entry_label(entry.email if entry is not None else repr(item))
        adjustments.extend(Adjustment(label, note, set_aside) for note in notes)
        if entry is None:
            continue
        if set_aside:
            aside.add(entry.email)
        else:
            entries.append(entry)
    return BouncePage(
        entries,
        received=len(items),
        adjustments=adjustments,
        last_email=last_email,
        aside=frozenset(aside),
    )


def read_entry(
    item: Any, *, time_field: str = "created"
) -> tuple[UpstreamBounce | None, list[str], bool]:
    """One entry as it can be stored, what was adjusted, and whether it must be set aside. The
    Event Webhook's events are read by the same rules, their time in `timestamp`."""
    if not isinstance(item, dict):
        return None, [f"set aside: not an object but {type(item).__name__}"], True
    notes: list[str] = []
    email = item.get("email")
    email = email.strip().lower() if isinstance(email, str) else ""
    if not email:
        return None, ["set aside: no address"], True
    storable, changed = _storable(email)
    if changed:
        # The address is the key a deletion sends upstream: another one would miss it.
        entry = UpstreamBounce(storable, "", "", 0.0)
        return entry, [f"set aside: address with {changed}"], True
    status, changed = _storable(str(item.get("status") or ""))
    if changed:
        notes.append(f"status: {changed} removed")
    if len(status) > MAX_STATUS:
        notes.append(f"status of {len(status):,} characters cut to {MAX_STATUS}")
        status = status[:MAX_STATUS]
    reason, changed = _storable(str(item.get("reason") or ""))
    if changed:
        notes.append(f"reason: {changed} removed")
    created = _number(item.get(time_field))
    entry = UpstreamBounce(email, status, reason, 0.0 if created is None else created)
    if created is None:
        return entry, [*notes, "set aside: no usable creation time"], True
    if len(email) > MAX_EMAIL:
        notes.append(f"set aside: address of {len(email):,} characters (more than {MAX_EMAIL})")
        return entry, notes, True
    return entry, notes, False


def storable_text(text: str) -> str:
    """`text` without NUL characters and unpaired surrogates, which no database column holds."""
    return _storable(text)[0]


def _storable(text: str) -> tuple[str, str]:
    """The text without what no database column can hold, and what that was ('' if nothing)."""
    removed = []
    if "\x00" in text:
        removed.append(f"{text.count(chr(0))} NUL character(s)")
        text = text.replace("\x00", "")
    try:
        text.encode()
    except UnicodeEncodeError:
        clean = text.encode("utf-8", "ignore").decode()
        removed.append(f"{len(text) - len(clean)} unpaired surrogate(s)")
        text = clean
    return text, "; ".join(removed)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and 0 <= number <= MAX_CREATED else None


def entry_label(text: str) -> str:
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"
