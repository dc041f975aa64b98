"""The bounce list table. Every text cell is escaped by Django, addresses and reasons with their
hidden characters shown (templatetags/untrusted.py); reasons are shortened here and shown whole on
the detail page."""

import django_tables2 as tables
from django.template.defaultfilters import truncatechars
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from bounceadmin.tablerows import FastBodyMixin

from .models import Bounce
from .templatetags.untrusted import visible, visible_text

REASON_PREVIEW = 100
REPEAT = "Bounced again after we removed it"


class LocalTimeColumn(tables.Column):
    """A date-time in TIME_ZONE. Plain formatting: DateTimeColumn renders a template per cell."""

    def render(self, value):
        return date_format(localtime(value), "Y-m-d H:i")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "nowrap"}})
        super().__init__(*args, **kwargs)


class BounceTable(FastBodyMixin, tables.Table):
    email = tables.Column(verbose_name="Address", attrs={"td": {"class": "email"}})
    subuser = tables.Column(
        accessor="subuser__username", order_by="subuser__username", verbose_name="Subuser",
        attrs={"td": {"class": "nowrap"}},
    )  # fmt: skip
    status = tables.Column()
    type = tables.Column()
    classification = tables.Column()
    fault = tables.Column()
    reason = tables.Column(orderable=False, attrs={"td": {"class": "reason"}})
    created = LocalTimeColumn(verbose_name="Bounced")
    last_seen = LocalTimeColumn(verbose_name="Last seen")
    removed_at = LocalTimeColumn(
        verbose_name="Removed", default="—", attrs={"td": {"class": "nowrap muted"}}
    )

    class Meta:
        model = Bounce
        fields = ("email", "subuser", "status", "type", "classification", "fault", "reason",
                  "created", "last_seen", "removed_at")  # fmt: skip
        order_by = ("-created",)
        attrs = {"class": "table bounces"}
        template_name = "_table.html"
        empty_text = "No bounces match these filters."

    def render_email(self, value, record):
        link = format_html('<a href="{}">{}</a>', record.get_absolute_url(), visible(value))
        if record.repeat_of_id:
            return format_html('{} <span class="badge warn" title="{}">repeat</span>', link, REPEAT)
        return link

    def render_type(self, value, record):
        return format_html('<span class="badge badge-{}">{}</span>', record.type, value)

    def render_reason(self, value):
        if len(value) <= REASON_PREVIEW:
            return visible(value)
        return format_html(
            '<span title="{}">{}</span>',
            visible_text(value[:1000]),
            visible(truncatechars(value, REASON_PREVIEW)),
        )
