"""Downloading a subuser's bounce list: paging it until a listing joins up, and confirming
would-be removals, into an `Upstream` that the reconcile then writes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Max

from bounceadmin.sendgrid import Adjustment, UpstreamBounce

from ..models import Bounce, Subuser
from .derivation import Derived, Deriver, Key, collect, derive
from .errors import ListKeptChanging
from .prefetch import prefetched

if TYPE_CHECKING:
    from .reconcile import Cached
    from .subuser import SubuserRefresh

log = logging.getLogger(__name__)

# Would-be removals up to this many are confirmed one address at a time; more trigger a second
# listing. Either way an entry skipped because the list shifted while it was paged is not lost.
CONFIRM_ONE_BY_ONE_MAX = 20
# Each page of a listing re-reads this many entries of the page before, so the refresh can check
# that consecutive pages join up: fewer removals than this ahead of the cursor between two pages
# are absorbed; more are detected (the previous page's last entry is not on the next one) and
# the listing is repeated, since offsets skipped live entries.
PAGE_OVERLAP = 10
# Listings per refresh at most (the first, repeats of listings that did not join up, the second
# listing that confirms many removals). A list that will not hold still for this many fails the
# refresh, which writes nothing, rather than let a torn listing decide what was removed.
MAX_LISTINGS = 3


@dataclass
class Upstream:
    rows: dict[str, UpstreamBounce]
    # A full refresh reads the subuser's cached rows once, before listing (the lease keeps every
    # other writer out until the reconcile): listing compares pages with them as they come.
    cached: dict[str, Cached] = field(default_factory=dict)
    # Type, classification and fault of each (status, reason) seen. Pages are handed to the
    # deriver as they arrive, and what it worked out is collected before the reconcile.
    derived: dict[Key, Derived] = field(default_factory=dict)
    deriver: Deriver = field(default_factory=Deriver)
    submitted: list[tuple[list[Key], Future]] = field(default_factory=list)
    asked: set[Key] = field(default_factory=set)
    # Entries the client adjusted or set aside, once each however often they were listed.
    adjustments: dict[Adjustment, None] = field(default_factory=dict)
    pages: int = 0
    listings: int = 0

    def derive(self, up: UpstreamBounce) -> Derived:
        """Type, classification and fault of a bounce, worked out once per (status, reason)."""
        key = (up.status, up.reason)
        found = self.derived.get(key)
        if found is None:
            found = self.derived[key] = derive(*key)
        return found

    def derive_changed(self, page: list[UpstreamBounce]) -> None:
        """Hand the deriver what the reconcile will need for entries that are new or changed."""
        keys = []
        for up in page:
            row = self.cached.get(up.email)
            if row is None or row.status != up.status or row.reason != up.reason:
                key = (up.status, up.reason)
                if key not in self.asked:
                    self.asked.add(key)
                    keys.append(key)
        if keys:
            self.submitted.append((keys, self.deriver.submit(keys)))

    def collect(self) -> None:
        """Take in what the deriver has worked out (waiting for it): before the reconcile."""
        collect(self.submitted, into=self.derived)
        self.submitted.clear()


def list_until_joined(refresh: SubuserRefresh, still_ours: Callable[[], None]) -> None:
    """List (again) until one listing's pages all join up; every listing adds to the rows.

    A listing whose pages joined saw every entry that was upstream, unchanged, from its first
    page to its last; what it missed was removed, added or re-dated meanwhile. `still_ours` is
    called before each page and raises LockLost once the refresh's lease was taken.
    """
    upstream, name = refresh.upstream, refresh.subuser.username
    while upstream.listings < MAX_LISTINGS:
        if _list_once(refresh, still_ours):
            return
        log.info("%s of %s shifted while paged; listing again", refresh.list_label, name)
    raise ListKeptChanging(
        f"the {refresh.list_label} of {name} changed while it was paged, in each of"
        f" {MAX_LISTINGS} listings; nothing was written, the next refresh tries again"
    )


def _list_once(refresh: SubuserRefresh, still_ours: Callable[[], None]) -> bool:
    """One walk through the list, merged into the upstream rows; True when every page joined."""
    upstream = refresh.upstream
    upstream.listings += 1
    pages = refresh.pages(start_time=refresh.start_time, overlap=PAGE_OVERLAP)
    joined = True
    last: str | None = None
    for page in prefetched(pages):
        still_ours()
        upstream.pages += 1
        # The page re-reads the end of the one before; if the previous last entry is not on it,
        # the offsets moved by more than the overlap and entries in between may be skipped.
        if last is not None and not page.has_email(last):
            joined = False
        merge(upstream.rows, page)
        upstream.derive_changed(page)
        upstream.adjustments.update(dict.fromkeys(page.adjustments))
        last = page.last_email
    return joined


def merge(rows: dict[str, UpstreamBounce], page: Iterable[UpstreamBounce]) -> None:
    for bounce in page:
        seen = rows.get(bounce.email)
        if seen is None or bounce.created >= seen.created:
            rows[bounce.email] = bounce


def incremental_start(subuser: Subuser) -> int | None:
    newest = Bounce.objects.filter(subuser=subuser).aggregate(newest=Max("created"))["newest"]
    if newest is None:
        return None
    return int(newest.timestamp()) - settings.REFRESH_OVERLAP_SECONDS


def confirm_removals(refresh: SubuserRefresh, still_ours: Callable[[], None]) -> None:
    """Re-check addresses the listing lacks before they are marked removed.

    A listing whose pages joined up still misses entries that moved behind the cursor while it
    ran (a repeat bounce takes an address to the front). Few candidates are looked up one by
    one, which is exact. Many trigger another listing (which must join up too) and whatever any
    listing saw counts as present; if that leaves few, they are looked up one by one as well.
    """
    upstream = refresh.upstream
    missing = missing_from_listing(upstream)
    if len(missing) > CONFIRM_ONE_BY_ONE_MAX and upstream.listings < 2:
        list_until_joined(refresh, still_ours)
        missing = missing_from_listing(upstream)
    if len(missing) <= CONFIRM_ONE_BY_ONE_MAX:
        for email in missing:
            still_ours()
            found = refresh.get_one(email)
            if found is not None:
                merge(upstream.rows, [found])


def missing_from_listing(upstream: Upstream) -> list[str]:
    """Cached active addresses that no listing has shown."""
    return [
        email
        for email, row in upstream.cached.items()
        if row.removed_at is None and email not in upstream.rows
    ]
