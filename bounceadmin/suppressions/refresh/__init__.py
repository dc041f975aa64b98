"""Refreshing the other lists (blocks, invalid emails, spam reports, global and group
unsubscribes) of a subuser or the parent: the map.

Each list is refreshed by the bounce refresh's machinery (`bounces/refresh/`), one run per list:
the same lease (a list's refresh and a bounce refresh or push of the same subuser never overlap),
the same run record (`RefreshRun.list`), the same download-then-write in one transaction, so a
failed refresh changes nothing.

- `paged.ListRefresh`: the four paged lists, through the bounce refresh's listing (pages that must
  join up, would-be removals confirmed), incremental or full.
- `groups.GroupRefresh`: group unsubscribes, which upstream answers in one piece (every address
  of every group, with its group and date): the groups, then their addresses, always whole.
- `reconcile`: new, changed and removed entries and their history, for any list.
- `state`: each list's state (last refresh, last success, active count) for the pages.
- `lists_refresh`: every other list of one subuser, in turn.
"""

from __future__ import annotations

from bounceadmin.bounces.models import RefreshRun, Subuser
from bounceadmin.bounces.refresh import RefreshAlreadyRunning
from bounceadmin.sendgrid import SendGridClient, get_client

from ..lists import OTHER_LISTS, SuppressionList


def list_refresh(
    *, subuser: Subuser, list: str, full: bool, client: SendGridClient, wait: bool = False
) -> RefreshRun:
    """Refresh one of the other lists of one subuser; returns its recorded run (ok or failed).
    RefreshAlreadyRunning as `bounces_refresh` raises it."""
    from .groups import GroupRefresh
    from .paged import ListRefresh

    if list == SuppressionList.GROUP_UNSUBSCRIBES:
        refresh = GroupRefresh(subuser, full=True, client=client, wait=wait)
    else:
        refresh = ListRefresh(subuser, list=list, full=full, client=client, wait=wait)
    return refresh.complete(refresh.download)


def lists_refresh(
    *, subuser: Subuser, full: bool, client: SendGridClient | None = None, wait: bool = False
) -> dict[str, RefreshRun | None]:
    """Every other list of the subuser, one run each; a list whose lease is held elsewhere is
    skipped (None), the others still refreshed."""
    own_client = client is None
    client = client or get_client()
    runs: dict[str, RefreshRun | None] = {}
    try:
        for name in OTHER_LISTS:
            try:
                runs[name] = list_refresh(
                    subuser=subuser, list=name, full=full, client=client, wait=wait
                )
            except RefreshAlreadyRunning:
                runs[name] = None
    finally:
        if own_client:
            client.close()
    return runs
