"""The suppression lists SendGrid keeps per account, described once: where each is listed, how
one address is checked and removed, and which fields its entries carry.

From SendGrid's spec (tsg_suppressions_v3.json). What each answers for an address that is not
listed, where the spec says nothing, is the sandbox's model (marked "undocumented"); the client
counts every one of these as "already gone":

| list | check one address | remove one, not listed | bulk remove |
| --- | --- | --- | --- |
| bounces, blocks, invalid_emails, spam_reports | GET `.../{email}`: 200 `[]` (spec: an array) | 404 (undocumented) | yes: `{"emails": [...]}` or `{"delete_all": true}`; unknown addresses ignored, 204 |
| global_unsubscribes | GET `/v3/asm/suppressions/global/{email}`: 200 `{}` (spec: "an empty object") | 204 (undocumented) | no |
| group_unsubscribes | GET `/v3/asm/suppressions/{email}`: 200, every group with `suppressed` | 204; 404 for an unknown group (both undocumented) | no |
"""  # noqa: E501

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ListSpec:
    list_path: str  # GET: the entries (paged with limit/offset unless `paged` is False)
    entry_path: str  # DELETE one address ({email}; {group_id} for a group)
    check_path: str  # GET one address ({email})
    fields: tuple[str, ...]  # what an entry carries besides `email` and its time
    time_field: str = "created"
    paged: bool = True  # limit/offset, start_time/end_time and the email filter
    bulk_delete: bool = False


def _flat(name: str, fields: tuple[str, ...]) -> ListSpec:
    base = f"/v3/suppression/{name}"
    one = base + "/{email}"
    return ListSpec(base, one, one, fields, bulk_delete=True)


class SuppressionList(StrEnum):
    BOUNCES = "bounces"
    BLOCKS = "blocks"
    INVALID_EMAILS = "invalid_emails"
    SPAM_REPORTS = "spam_reports"
    GLOBAL_UNSUBSCRIBES = "global_unsubscribes"
    GROUP_UNSUBSCRIBES = "group_unsubscribes"

    @property
    def spec(self) -> ListSpec:
        return SPECS[self]


SPECS: dict[SuppressionList, ListSpec] = {
    SuppressionList.BOUNCES: _flat("bounces", ("status", "reason")),
    SuppressionList.BLOCKS: _flat("blocks", ("status", "reason")),
    SuppressionList.INVALID_EMAILS: _flat("invalid_emails", ("reason",)),
    SuppressionList.SPAM_REPORTS: _flat("spam_reports", ("ip",)),
    SuppressionList.GLOBAL_UNSUBSCRIBES: ListSpec(
        "/v3/suppression/unsubscribes",
        "/v3/asm/suppressions/global/{email}",
        "/v3/asm/suppressions/global/{email}",
        (),
    ),
    # Not paged upstream: one answer holds every (address, group) of the account, with its
    # date and group name (the per-group list, /v3/asm/groups/{id}/suppressions, has only the
    # addresses).
    SuppressionList.GROUP_UNSUBSCRIBES: ListSpec(
        "/v3/asm/suppressions",
        "/v3/asm/groups/{group_id}/suppressions/{email}",
        "/v3/asm/suppressions/{email}",
        ("group_id", "group_name"),
        time_field="created_at",
        paged=False,
    ),
}
GROUPS_PATH = "/v3/asm/groups"
