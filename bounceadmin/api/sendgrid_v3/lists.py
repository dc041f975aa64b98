"""SendGrid's v3 reads of blocks, invalid emails, spam reports and global unsubscribes, from the
cache: the bounce reads' views (views.ListRead, views.EntryRead) over each list's description
(sources.py), made here once per list. A DELETE is refused with a message: removing an entry of
these lists is requested on the dashboard (where consent is recorded for the lists that need it)."""

from __future__ import annotations

from rest_framework import exceptions

from bounceadmin.suppressions.lists import needs_consent

from . import schema
from .sources import ONE_ADDRESS, OTHER_SOURCES, ListSource
from .views import EntryRead, ListRead


class RemovalOnDashboard(exceptions.PermissionDenied):
    pass


def refuse_removal(source: ListSource):
    consent = " with the recipient's consent recorded" if needs_consent(source.list) else ""
    raise RemovalOnDashboard(
        f"Removals of {source.noun}s are not taken through this API: request them on the"
        f" dashboard{consent}."
    )


class OtherListRead(ListRead):
    def delete(self, request):
        refuse_removal(self.source)


class OtherEntryRead(EntryRead):
    def delete(self, request, email: str):
        self.address(email)
        refuse_removal(self.source)


def _named(source: ListSource, suffix: str) -> str:
    return "".join(part.capitalize() for part in source.path.split("_")) + suffix


LIST_VIEWS = {
    source.path: schema.list_schema(source)(
        type(_named(source, "List"), (OtherListRead,), {"source": source,
                                                        "__doc__": ListRead.__doc__})
    )
    for source in OTHER_SOURCES
}  # fmt: skip
ENTRY_VIEWS = {
    source.path: schema.entry_schema(source)(
        type(_named(source, "Entry"), (OtherEntryRead,), {"source": source,
                                                          "__doc__": EntryRead.__doc__})
    )
    for source in ONE_ADDRESS
}  # fmt: skip
