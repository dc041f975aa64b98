"""SendGrid's v3 reads of blocks, invalid emails, spam reports and global unsubscribes, from the
cache: the bounce reads' views (views.ListRead, views.EntryRead) over each list's description
(sources.py), made here once per list. A DELETE of blocks or invalid emails requests their
removal (202, four-eyes as on the dashboard); of spam reports and unsubscribes it is refused with
a message: those are removed on the dashboard, one address at a time with the recipient's
consent recorded (deletions/other_lists.py)."""

from __future__ import annotations

from rest_framework import exceptions

from bounceadmin.accounts.scoping import visible_suppressions
from bounceadmin.deletions.other_lists import removal_request_create
from bounceadmin.deletions.services import ConfirmationNeeded, DeletionError, NotPermitted
from bounceadmin.suppressions.lists import needs_consent

from . import params, schema
from .sources import ONE_ADDRESS, OTHER_SOURCES, ListSource
from .views import Conflict, EntryRead, ListRead


class RemovalOnDashboard(exceptions.PermissionDenied):
    pass


def refuse_removal(source: ListSource):
    raise RemovalOnDashboard(
        f"Removals of {source.noun}s are not taken through this API: request them on the"
        " dashboard with the recipient's consent recorded."
    )


class RemovalRequests:
    """DELETE on a list whose removal needs no consent: a request for the addresses named."""

    source: ListSource

    def request_entries_removal(self, request, emails: list[str]):
        if needs_consent(self.source.list):
            refuse_removal(self.source)
        subuser = self.one_subuser(request)
        extra, justification = self.removal_headers(request)
        addresses = sorted({email.strip().lower() for email in emails})
        entries = visible_suppressions(request.user).filter(
            subuser=subuser, list=self.source.list, email__in=addresses, removed_at__isnull=True
        )
        if not entries.exists():
            raise exceptions.NotFound({"email": [
                "email does not exist" if len(addresses) == 1
                else f"None of these addresses is on the {self.source.noun} list of"
                f" {subuser.username}."
            ]})  # fmt: skip
        try:
            created = removal_request_create(
                user=request.user, entries=entries, justification=justification,
                ticket=extra.get("ticket", ""), confirmation=extra.get("confirmation", ""),
                selection=f"{request.method} {request.path} on-behalf-of: {subuser.username}",
            )  # fmt: skip
        except ConfirmationNeeded as exc:
            raise exceptions.ValidationError({"X-Confirmation": (
                f"{exc} Confirm with the header X-Confirmation: {exc.phrase}"
            )}) from None  # fmt: skip
        except NotPermitted as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except DeletionError as exc:  # e.g. every address is already in an open request
            raise Conflict(str(exc)) from None
        return self.accepted(request, subuser, created[0])


class OtherListRead(RemovalRequests, ListRead):
    def delete(self, request):
        if needs_consent(self.source.list):
            refuse_removal(self.source)
        body = params.BounceDeleteBody(data=request.data or {})  # no body: "send emails"
        body.is_valid(raise_exception=True)
        return self.request_entries_removal(request, body.validated_data["emails"])


class OtherEntryRead(RemovalRequests, EntryRead):
    def delete(self, request, email: str):
        return self.request_entries_removal(request, [self.address(email)])


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
