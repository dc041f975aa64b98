"""The audit log table. Cells are escaped; long details are shortened (whole in the CSV)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.timezone import localtime

from bounceadmin.bounces.templatetags.untrusted import visible

from .models import AuditEvent
from .templatetags.audit_format import audit_addresses, audit_details, audit_object


class AuditTable(tables.Table):
    at = tables.Column(verbose_name="Time", attrs={"td": {"class": "nowrap"}})
    actor_name = tables.Column(verbose_name="Actor", default="system")
    action = tables.Column(verbose_name="Action")
    subuser = tables.Column(default="—")
    about = tables.Column(
        verbose_name="About", accessor="pk", orderable=False, attrs={"td": {"class": "nowrap"}}
    )
    addresses = tables.Column(orderable=False, empty_values=(), attrs={"td": {"class": "email"}})
    details = tables.Column(orderable=False, empty_values=(), attrs={"td": {"class": "reason"}})
    source_ip = tables.Column(
        verbose_name="Source IP", default="—", attrs={"td": {"class": "nowrap"}}
    )

    class Meta:
        model = AuditEvent
        fields = ("at", "actor_name", "action", "subuser", "about", "addresses", "details",
                  "source_ip")  # fmt: skip
        order_by = ("-at",)
        attrs = {"class": "table audit"}
        empty_text = "No audit events match these filters."

    def render_at(self, value):
        local = localtime(value)
        return format_html(
            '<time datetime="{}">{}</time>',
            local.isoformat(timespec="seconds"),
            date_format(local, "Y-m-d H:i:s"),
        )

    def render_action(self, value, record):
        return format_html('<span title="{}">{}</span>', record.action, value)

    def render_about(self, record):
        return audit_object(record, "request run operator")

    def render_subuser(self, value):
        url = reverse("bounces:list") + "?" + urlencode({"subuser": value})
        return format_html('<a href="{}">{}</a>', url, visible(value))

    def render_addresses(self, record):
        return audit_addresses(record)

    def render_details(self, value):
        return audit_details(value)

    def order_at(self, queryset, is_descending):
        # Events of the same instant keep their recorded order.
        prefix = "-" if is_descending else ""
        return queryset.order_by(f"{prefix}at", f"{prefix}id"), True
