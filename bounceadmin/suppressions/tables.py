"""The all-lists table (/suppressions/): its columns and headers; rows are written by
templates/suppressions/_suppression_table.html, a cell per column in this order. Sorted by date
only, either way: the one key both tables have an index for (union.py)."""

import django_tables2 as tables

from bounceadmin.bounces.tables import _in_zone

from .entries import Entry


class SuppressionTable(tables.Table):
    list = tables.Column(verbose_name="List")
    subuser = tables.Column(verbose_name="Subuser")
    email = tables.Column(verbose_name="Address")
    created = tables.Column(verbose_name=_in_zone("Added"), orderable=True)
    status = tables.Column(verbose_name="Status")
    reason = tables.Column(verbose_name="Reason / IP")
    state = tables.Column(verbose_name="State", empty_values=())

    class Meta:
        order_by = ("-created",)
        orderable = False
        attrs = {"class": "table bounces suppressions"}
        template_name = "suppressions/_suppression_table.html"
        empty_text = "No entry matches these filters."

    entry = staticmethod(Entry.of)  # union.union_paginate makes its rows entries through this
