"""The bounce list table: its columns, their headers and sort links, and the select-all box. The
rows are written by templates/bounces/_bounce_table.html, a cell per column in this order: a plain
template loop, where django-tables2's own cell by cell rendering took several times as long."""

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
    email = tables.Column(verbose_name="Address")
    subuser = tables.Column(
        accessor="subuser__username", order_by="subuser__username", verbose_name="Subuser"
    )
    reason = tables.Column(orderable=False)
    created = tables.Column(verbose_name=_in_zone("Bounced"))
    last_seen = tables.Column(verbose_name=_in_zone("Last seen"))
    removed_at = tables.Column(verbose_name=_in_zone("Removed"))

    class Meta:
        model = Bounce
        fields = ("email", "subuser", "status", "type", "classification", "fault", "reason",
                  "created", "last_seen", "removed_at")  # fmt: skip
        sequence = ("bounce", "...")
        order_by = ("-created",)
        attrs = {"class": "table bounces"}
        template_name = "bounces/_bounce_table.html"
        empty_text = "No bounces match these filters."

    @property
    def selectable(self) -> bool:
        return "bounce" in self.columns

    @property
    def shows_removed(self) -> bool:
        return "removed_at" in self.columns
