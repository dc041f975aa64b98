"""Reading the entries of any suppression list (see lists.py), by the rules entries.py applies to
bounces: what a database can hold is kept (NUL and unpaired surrogates removed from free text,
a status cut to its column), what cannot is set aside and reported with the page."""

from __future__ import annotations

from typing import Any, NamedTuple

from .entries import Adjustment, BouncePage, entry_label, read_entry, storable_text
from .lists import SuppressionList

MAX_IP = 45  # the longest text form of an IPv6 address
MAX_GROUP_NAME = 100
MAX_UPSTREAM_ID = 2**63 - 1  # a BigIntegerField


class UpstreamEntry(NamedTuple):
    """One entry of any list; a field its list does not have is "" (None for `group_id`)."""

    email: str
    created: float  # Unix seconds
    status: str = ""
    reason: str = ""
    ip: str = ""
    group_id: int | None = None
    group_name: str = ""


class UpstreamGroup(NamedTuple):
    id: int
    name: str
    description: str
    is_default: bool
    unsubscribes: int | None  # how many addresses upstream says it holds, when it says


# A page of UpstreamEntry: `received`, `adjustments`, `last_email` as for bounces.
EntryPage = BouncePage


def parse_entries(kind: SuppressionList, items: list[Any]) -> EntryPage:
    spec = kind.spec
    entries: list[UpstreamEntry] = []
    adjustments: list[Adjustment] = []
    aside: set[str] = set()
    last_email: str | None = None
    for item in items:
        base, notes, set_aside = read_entry(item, time_field=spec.time_field)
        last_email = base.email if base is not None else None
        label = entry_label(base.email if base is not None else repr(item))
        if base is None:
            adjustments.extend(Adjustment(label, note, True) for note in notes)
            continue
        values: dict[str, Any] = {"email": base.email, "created": base.created}
        if "status" in spec.fields:
            values["status"] = base.status
        if "reason" in spec.fields:
            values["reason"] = base.reason
        if "ip" in spec.fields:
            values["ip"] = storable_text(str(item.get("ip") or ""))[:MAX_IP]
        if "group_id" in spec.fields:
            group_id = upstream_id(item.get("group_id"))
            if group_id is None:
                notes.append("set aside: no usable group id")
                set_aside = True
            else:
                values["group_id"] = group_id
            name = storable_text(str(item.get("group_name") or ""))
            values["group_name"] = name[:MAX_GROUP_NAME]
        adjustments.extend(Adjustment(label, note, set_aside) for note in notes)
        if set_aside:
            aside.add(base.email)
        else:
            entries.append(UpstreamEntry(**values))
    return EntryPage(
        entries,
        received=len(items),
        adjustments=adjustments,
        last_email=last_email,
        aside=frozenset(aside),
    )


def upstream_id(value: Any) -> int | None:
    """A group id as the database can hold it: a positive integer up to 2**63 - 1 (an integral
    float too, as JSON may write one); None for anything else (a bool, a string, 1e400...)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_UPSTREAM_ID:
        return value
    return None


def parse_group(item: Any) -> UpstreamGroup:
    """One group of `GET /v3/asm/groups`; KeyError/TypeError/ValueError when malformed."""
    count = item.get("unsubscribes")
    group_id = upstream_id(item["id"])
    if group_id is None:
        raise ValueError(f"group id {str(item['id'])[:40]!r} is not a positive 64-bit integer")
    return UpstreamGroup(
        id=group_id,
        name=storable_text(str(item["name"])),
        description=storable_text(str(item.get("description") or "")),
        is_default=bool(item.get("is_default", False)),
        unsubscribes=None if count is None else int(count),
    )
