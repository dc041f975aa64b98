"""Each suppression list the v3 surface reads, described once: its path, the cache rows that
answer it, SendGrid's entry shape, and how old its cache is. The views (views.py, lists.py) and
their schema (schema.py) serve every list through these descriptions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from rest_framework.exceptions import ValidationError

from bounceadmin.accounts.scoping import visible_bounces, visible_subusers, visible_suppressions
from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.bounces.models import Subuser
from bounceadmin.suppressions.filters import SuppressionFilter
from bounceadmin.suppressions.lists import SuppressionList
from bounceadmin.suppressions.models import SuppressionListState


@dataclass(frozen=True)
class ListSource:
    path: str  # under /v3/suppression/
    list: SuppressionList
    fields: tuple[str, ...]  # SendGrid's entry shape, in its order ("created" as Unix seconds)
    noun: str  # for messages and descriptions: "block", "spam report"...

    @property
    def is_bounces(self) -> bool:
        return self.list == SuppressionList.BOUNCES

    def rows(self, user, subuser: Subuser | None) -> QuerySet:
        """The cached rows the token may see, of `subuser` only when named (without it, no
        `IN (every subuser)` for the planner to weigh)."""
        if self.is_bounces:
            rows = visible_bounces(user)
        else:
            rows = visible_suppressions(user).filter(list=self.list)
        return rows if subuser is None else rows.filter(subuser_id=subuser.pk)

    def email_filtered(self, user, rows: QuerySet, email: str | None) -> QuerySet:
        """Active rows, `email` a prefix with `%` as wildcard: the pages' own filter (bounces'
        filterset, or the all-lists one, which has the same `email`)."""
        filterset = BounceFilter if self.is_bounces else SuppressionFilter
        filters = filterset(
            {"email": email} if email is not None else {},
            queryset=rows,
            subusers=visible_subusers(user),
        )
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return filters.qs

    def items(self, rows: QuerySet) -> list[dict]:
        return [
            {name: int(value.timestamp()) if name == "created" else value
             for name, value in zip(self.fields, values, strict=True)}
            for values in rows.values_list(*self.fields)
        ]  # fmt: skip

    def refreshed(self, subusers: QuerySet[Subuser]) -> dict:
        """The oldest last successful refresh of this list among `subusers`, and whether one
        never succeeded: bounces on the subuser, other lists on their SuppressionListState."""
        if self.is_bounces:
            at = "last_success_at"
        else:
            subusers = subusers.annotate(
                list_success_at=Subquery(
                    SuppressionListState.objects.filter(
                        subuser_id=OuterRef("pk"), list=self.list
                    ).values("last_success_at")[:1]
                )
            )
            at = "list_success_at"
        return subusers.aggregate(oldest=Min(at), never=Count("pk", filter=Q(**{at: None})))


BOUNCES = ListSource("bounces", SuppressionList.BOUNCES, ("created", "email", "reason", "status"),
                     "bounce")  # fmt: skip
BLOCKS = ListSource("blocks", SuppressionList.BLOCKS, ("created", "email", "reason", "status"),
                    "block")  # fmt: skip
INVALID_EMAILS = ListSource(
    "invalid_emails", SuppressionList.INVALID_EMAILS, ("created", "email", "reason"),
    "invalid email",
)  # fmt: skip
SPAM_REPORTS = ListSource(
    "spam_reports", SuppressionList.SPAM_REPORTS, ("created", "email", "ip"), "spam report"
)
UNSUBSCRIBES = ListSource(
    "unsubscribes", SuppressionList.GLOBAL_UNSUBSCRIBES, ("created", "email"),
    "global unsubscribe",
)  # fmt: skip

# The lists beside bounces, in SendGrid's order; the first three also answer `…/{email}`.
OTHER_SOURCES = (BLOCKS, INVALID_EMAILS, SPAM_REPORTS, UNSUBSCRIBES)
ONE_ADDRESS = (BLOCKS, INVALID_EMAILS, SPAM_REPORTS)
