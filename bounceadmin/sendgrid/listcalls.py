"""The client's calls on every suppression list (lists.py describes them), mixed into
`SendGridClient`, whose transport (`_json`, `_request`: retries, the rate gate, typed errors)
they use. `subuser` is a subuser's username, or None for the parent account's own lists (no
`on-behalf-of`). `kind` is a `SuppressionList` or its value ("blocks", ...: the same names as
the cache's lists).

Another list's refresh calls, for a subuser or the parent:
    iter_list_pages(kind, subuser, start_time=..., overlap=...)  pages of UpstreamEntry
    get_entry(kind, subuser, email) / is_listed(kind, subuser, email, group_id=...)
    get_dated_entry(kind, subuser, email, group_id=...)          any list, with its date
    delete_entry(kind, subuser, email, group_id=...)             False: it was not there
    delete_entries(kind, subuser, emails) / delete_all_entries    bounces, blocks, invalid, spam
    list_groups(subuser) / list_group_addresses(subuser, group_id)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from .errors import BadResponse, NotFound
from .listentries import EntryPage, UpstreamEntry, UpstreamGroup, parse_entries, parse_group
from .lists import GROUPS_PATH, SuppressionList

PAGE_SIZE = 500  # SendGrid's maximum for the suppression lists
DELETE_BATCH_SIZE = 500
ListKind = SuppressionList | str  # a member or its value


class SuppressionListCalls:
    def _json(self, method: str, path: str, *, subuser: str | None = None, **kw: Any) -> Any:
        raise NotImplementedError  # SendGridClient's

    def _request(
        self, method: str, path: str, *, subuser: str | None = None, **kw: Any
    ) -> requests.Response:
        raise NotImplementedError  # SendGridClient's

    def iter_list_pages(
        self,
        kind: ListKind,
        subuser: str | None,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        email: str | None = None,
        page_size: int = PAGE_SIZE,
        overlap: int = 0,
    ) -> Iterator[EntryPage]:
        """Yield one list of a subuser (None: the parent) page by page, until a short page, as
        `iter_bounce_pages` does (`overlap` included), entries read by listentries.py.

        Group unsubscribes are not paged upstream: one page holds them all, the time window
        applied here (inclusive, like upstream's), and `email` is refused.
        """
        kind = SuppressionList(kind)
        if not 0 <= overlap < page_size:
            raise ValueError("overlap must be at least 0 and less than the page size")
        spec = kind.spec
        if not spec.paged:
            if email:
                raise ValueError(f"{kind} takes no email filter")
            page = self._entries(kind, subuser, spec.list_path, None)
            yield _within(page, start_time, end_time)
            return
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": page_size, "offset": offset}
            if start_time is not None:
                params["start_time"] = int(start_time)
            if end_time is not None:
                params["end_time"] = int(end_time)
            if email:
                params["email"] = email
            page = self._entries(kind, subuser, spec.list_path, params)
            yield page
            if page.received < page_size:
                return
            offset += page_size - overlap

    def get_entry(self, kind: ListKind, subuser: str | None, email: str) -> UpstreamEntry | None:
        """One address's entry on a paged list with entries of its own (bounces, blocks,
        invalid emails, spam reports); None when it is not listed."""
        kind = SuppressionList(kind)
        if not kind.spec.bulk_delete:
            raise ValueError(f"{kind}: check an address with is_listed")
        page = self._entries(kind, subuser, _fill(kind.spec.check_path, email), None)
        return page[0] if page else None

    def get_dated_entry(
        self, kind: ListKind, subuser: str | None, email: str, *, group_id: int | None = None
    ) -> UpstreamEntry | None:
        """One address's entry with its date, on any list (for group unsubscribes: in group
        `group_id`, upstream's id); None when it is not listed. The single-address GETs of the
        unsubscribes carry no date (SendGrid's spec: global `{"recipient_email": ...}`, groups
        only `suppressed`), so a global unsubscribe is read from its list filtered by the
        address (a prefix filter: exact matches kept here), and a group unsubscribe from the
        account's one unpaged answer of every group's (`GET /v3/asm/suppressions`, dated)."""
        kind = SuppressionList(kind)
        if kind.spec.bulk_delete:
            return self.get_entry(kind, subuser, email)
        wanted = email.strip().lower()
        if kind is SuppressionList.GROUP_UNSUBSCRIBES:
            if group_id is None:
                raise ValueError("group_id is required for group unsubscribes")
            pages = self.iter_list_pages(kind, subuser)
        else:
            pages = self.iter_list_pages(kind, subuser, email=wanted)
        for page in pages:
            for entry in page:
                if entry.email == wanted and entry.group_id == group_id:
                    return entry
        return None

    def is_listed(
        self, kind: ListKind, subuser: str | None, email: str, *, group_id: int | None = None
    ) -> bool:
        """Whether the address is on the list (for group unsubscribes: in group `group_id`)."""
        kind = SuppressionList(kind)
        path = _fill(kind.spec.check_path, email)
        if kind.spec.bulk_delete:
            return self.get_entry(kind, subuser, email) is not None
        data = self._json("GET", path, subuser=subuser)
        if not isinstance(data, dict):
            raise BadResponse(f"GET {path}: expected a JSON object", subuser=subuser)
        if kind is SuppressionList.GLOBAL_UNSUBSCRIBES:
            return bool(data.get("recipient_email"))  # {} when not listed
        if group_id is None:
            raise ValueError("group_id is required for group unsubscribes")
        groups = data.get("suppressions") or []
        return any(
            isinstance(g, dict) and g.get("id") == group_id and g.get("suppressed") is True
            for g in groups
        )

    def delete_entry(
        self, kind: ListKind, subuser: str | None, email: str, *, group_id: int | None = None
    ) -> bool:
        """Remove one address (from group `group_id` for group unsubscribes). False when
        SendGrid said it was not there (a 404): already gone. Global and group unsubscribes are
        answered 204 either way, so True there says only that it is not listed any more."""
        kind = SuppressionList(kind)
        if kind is SuppressionList.GROUP_UNSUBSCRIBES and group_id is None:
            raise ValueError("group_id is required for group unsubscribes")
        path = _fill(kind.spec.entry_path, email, group_id)
        try:
            self._request("DELETE", path, subuser=subuser)
        except NotFound:
            return False
        return True

    def delete_entries(self, kind: ListKind, subuser: str | None, emails: list[str]) -> int:
        """Remove addresses in batches of 500 (bounces, blocks, invalid emails, spam reports
        only: the others have no bulk delete); returns the number of requests made. Addresses
        that are not listed are ignored upstream."""
        path = _bulk_path(kind)
        batches = 0
        for i in range(0, len(emails), DELETE_BATCH_SIZE):
            body = {"emails": emails[i : i + DELETE_BATCH_SIZE]}
            self._request("DELETE", path, subuser=subuser, json=body)
            batches += 1
        return batches

    def delete_all_entries(self, kind: ListKind, subuser: str | None) -> None:
        """Empty the whole list (bulk kinds only)."""
        self._request("DELETE", _bulk_path(kind), subuser=subuser, json={"delete_all": True})

    def list_groups(self, subuser: str | None) -> list[UpstreamGroup]:
        """The account's unsubscribe groups (unpaged upstream)."""
        data = self._json("GET", GROUPS_PATH, subuser=subuser)
        if not isinstance(data, list):
            raise BadResponse(f"GET {GROUPS_PATH}: expected a JSON array", subuser=subuser)
        try:
            return [parse_group(item) for item in data]
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            message = f"GET {GROUPS_PATH}: malformed group ({exc!r})"
            raise BadResponse(message, subuser=subuser) from None

    def list_group_addresses(self, subuser: str | None, group_id: int) -> list[str]:
        """The addresses unsubscribed from one group: addresses only, no dates (upstream gives
        none here; `iter_list_pages(GROUP_UNSUBSCRIBES, ...)` has them). NotFound for an
        unknown group."""
        path = f"{GROUPS_PATH}/{int(group_id)}/suppressions"
        data = self._json("GET", path, subuser=subuser)
        if not isinstance(data, list):
            raise BadResponse(f"GET {path}: expected a JSON array", subuser=subuser)
        page = parse_entries(
            SuppressionList.GLOBAL_UNSUBSCRIBES,  # the same rules for a bare address
            [{"email": e, "created": 0} if isinstance(e, str) else e for e in data],
        )
        return [entry.email for entry in page]

    def _entries(
        self,
        kind: SuppressionList,
        subuser: str | None,
        path: str,
        params: dict[str, Any] | None,
    ) -> EntryPage:
        data = self._json("GET", path, subuser=subuser, params=params)
        if not isinstance(data, list):
            who = f"subuser {subuser!r}" if subuser else "the parent account"
            raise BadResponse(f"{kind} list for {who}: expected a JSON array", subuser=subuser)
        return parse_entries(kind, data)


def _fill(template: str, email: str, group_id: int | None = None) -> str:
    path = template.replace("{email}", quote(email, safe=""))
    return path.replace("{group_id}", str(int(group_id))) if group_id is not None else path


def _bulk_path(kind: SuppressionList) -> str:
    kind = SuppressionList(kind)
    if not kind.spec.bulk_delete:
        raise ValueError(f"{kind} has no bulk delete upstream: delete_entry one address at a time")
    return kind.spec.list_path


def _within(page: EntryPage, start: int | None, end: int | None) -> EntryPage:
    if start is None and end is None:
        return page
    kept = [
        e
        for e in page
        if (start is None or e.created >= start) and (end is None or e.created <= end)
    ]
    return EntryPage(
        kept,
        received=page.received,
        adjustments=page.adjustments,
        last_email=page.last_email,
        aside=page._aside,  # noqa: SLF001 - the same package's page, passed on whole
    )
