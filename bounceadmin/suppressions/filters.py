"""The filters of the all-lists table (/suppressions/): the bounce list's own, with the same
names and meaning, plus `list`. The Suppression side is filtered by this filterset; the bounce
side by `BounceFilter` itself over the same query string (selectors.all_lists), so a filter of
/bounces/ means on /suppressions/ exactly what it means there."""

from __future__ import annotations

import django_filters as filters

from bounceadmin.bounces.classification import Classification, Fault
from bounceadmin.bounces.filters import BounceFilter
from bounceadmin.bounces.models import Bounce
from bounceadmin.listing import QuickSelectMultiple

from .lists import SuppressionList
from .models import Suppression

BOUNCES_ONLY = "Bounces only: when set, the other lists are left out."


class SuppressionFilter(BounceFilter):
    list = filters.MultipleChoiceFilter(
        choices=SuppressionList.choices, method="filter_list", label="List",
        widget=QuickSelectMultiple, help_text="None selected: every list",
    )  # fmt: skip
    # Filters of what only a bounce has: given, they leave the other lists out.
    type = filters.ChoiceFilter(
        choices=Bounce.Type.choices, empty_label="Hard and soft", method="filter_bounces_only",
        label="Type",
        help_text=BOUNCES_ONLY,
    )  # fmt: skip
    classification = filters.MultipleChoiceFilter(
        choices=Classification.choices,
        method="filter_bounces_only",
        label="Classification",
        help_text=BOUNCES_ONLY,
    )
    fault = filters.ChoiceFilter(
        choices=Fault.choices, empty_label="Any fault", method="filter_bounces_only", label="Fault",
        help_text=BOUNCES_ONLY,
    )  # fmt: skip

    class Meta:
        model = Suppression
        fields: list[str] = []

    def __init__(self, *args, subusers, **kwargs):
        super().__init__(*args, subusers=subusers, **kwargs)
        # The parent account's own lists are picked by its login name, said to be the parent's.
        self.filters["subuser"].extra["choices"] = [
            (name, f"{name} (parent account)" if is_parent else name)
            for name, is_parent in subusers.values_list("username", "is_parent")
        ]
        # The list first, beside the subuser: the form's most used pair.
        self.filters.move_to_end("list", last=False)
        self.filters.move_to_end("subuser", last=False)
        self.filters["status"].extra["help_text"] = "Exact, e.g. 5.1.1 (bounces and blocks)"
        self.filters["reason"].extra["help_text"] = "Bounces, blocks and invalid emails"

    @property
    def lists(self) -> set[str]:
        """The lists asked for (every one when none is): valid data only."""
        return set(self.form.cleaned_data.get("list") or SuppressionList.values)

    def filter_list(self, queryset, name, value):
        return queryset.filter(list__in=[v for v in value if v != SuppressionList.BOUNCES])

    def filter_bounces_only(self, queryset, name, value):
        return queryset.none() if value else queryset
