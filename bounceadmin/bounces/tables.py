"""The bounce list table: its columns, their headers and sort links, and the select-all box. The
rows are written by templates/bounces/_bounce_table.html, a cell per column in this order: a plain
template loop, where django-tables2's own cell by cell rendering took several times as long.

Sorting: only by address and by date, the columns with an index on (column, id) that serves the
sort either way and at any depth of the list (its pages follow cursors: bounceadmin/keyset.py);
the others are a few values each, which their filters pick better than a sort orders, or change
at every refresh (last seen)."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.functional import lazy

from .models import Bounce


def _in_zone(label: str) -> str:
    """A time column's header, with the zone its times are shown in (rendered per request)."""
    return lazy(lambda: f"{label} ({timezone.get_current_timezone_name()})", str)()


class BounceTable(tables.Table):
    # For requesters only (the view excludes it for the others): boxes for a deletion request.
    bounce = tables.CheckBoxColumn(
        accessor="pk",
        attrs={"th__input": {"id": "select-all", "aria-label": "Select all rows on this page"}},
    )
    email = tables.Column(verbose_name="Address", orderable=True)
    subuser = tables.Column(accessor="subuser__username", verbose_name="Subuser")
    created = tables.Column(verbose_name=_in_zone("Bounced"), orderable=True)
    last_seen = tables.Column(verbose_name=_in_zone("Last seen"))
    removed_at = tables.Column(verbose_name=_in_zone("Removed"))

    class Meta:
        model = Bounce
        fields = ("email", "subuser", "status", "type", "classification", "fault", "reason",
                  "created", "last_seen", "removed_at")  # fmt: skip
        sequence = ("bounce", "...")
        order_by = ("-created",)
        orderable = False  # but for the columns that say otherwise
        attrs = {"class": "table bounces"}
        template_name = "bounces/_bounce_table.html"
        empty_text = "No bounces match these filters."

    @property
    def selectable(self) -> bool:
        return "bounce" in self.columns

    @property
    def shows_removed(self) -> bool:
        return "removed_at" in self.columns
