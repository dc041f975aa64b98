"""A django-tables2 table body rendered in one pass in Python.

django-tables2 renders each cell through the template engine and inspects the signature of the
`render_<column>` method for every cell; for a page of 50 bounces that was most of the page's
time. Here the per-column work (signature, `<td>` attributes, choice labels) is done once per
column and each cell is one call. Columns that need more (callable attributes, links, localize)
keep django-tables2's own per-cell path, so the output is the same markup either way.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django_tables2.utils import signature


def _has_callable(attrs) -> bool:
    if callable(attrs):
        return True
    return isinstance(attrs, dict) and any(_has_callable(v) for v in attrs.values())


class _Cell:
    """How one column's cells are made: everything that does not depend on the row."""

    def __init__(self, table, bound_column):
        column = bound_column.column
        self.name = bound_column.name
        self.fast = not (
            bound_column.link or column.localize is not None or _has_callable(column.attrs)
        )
        self.td = bound_column.attrs["td"].as_html() if self.fast else None
        self.render = bound_column.render
        self.args, self.any_kwargs = signature(bound_column.render)
        self.default = bound_column.default
        self.empty = column.empty_values
        self.accessor = bound_column.accessor
        self.column = column
        self.bound_column = bound_column
        self.table = table
        # As django-tables2 does: a model field with choices shows its label.
        self.display = None
        bits = self.accessor.bits
        model = getattr(getattr(table, "_meta", None), "model", None)
        if model is not None:
            try:
                field = self.accessor.get_field(model)
            except FieldDoesNotExist:
                field = None
            if field is not None and getattr(field, "choices", None):
                self.display = (bits[:-1], f"get_{bits[-1]}_display")

    def value(self, record):
        if self.display is not None:
            owner = record
            for bit in self.display[0]:
                owner = getattr(owner, bit, None)
            if isinstance(owner, models.Model):
                return getattr(owner, self.display[1])()
        try:
            return self.accessor.resolve(record)
        except Exception:  # noqa: BLE001 - as django-tables2: an unresolvable cell shows default
            return None

    def html(self, row) -> str:
        if not self.fast:
            self.bound_column.current_value = cell = row.get_cell(self.name)
            self.bound_column.current_record = row.record
            return f"<td {self.bound_column.attrs['td'].as_html()}>{conditional_escape(cell)}</td>"
        value = self.value(row.record)
        if value in self.empty:
            cell = self.default
        else:
            available = {
                "value": value, "record": row.record, "column": self.column,
                "bound_column": self.bound_column, "bound_row": row, "table": self.table,
            }  # fmt: skip
            if not self.any_kwargs:
                available = {k: available[k] for k in self.args if k in available}
            cell = self.render(**available)
        return f"<td {self.td}>{conditional_escape(cell)}</td>"


class FastBodyMixin:
    """For a `tables.Table`: `body_html`, the `<tr>` rows of the current page (or the empty text),
    used by templates/_table.html (set it as the table's Meta.template_name) in place of
    django-tables2's per-cell template loop."""

    def body_html(self) -> SafeString:
        cells = [_Cell(self, bound_column) for bound_column in self.columns]
        rows = [
            f"<tr {row.attrs.as_html()}>{''.join(cell.html(row) for cell in cells)}</tr>"
            for row in self.paginated_rows
        ]
        if not rows and self.empty_text:
            return format_html('<tr><td colspan="{}">{}</td></tr>', len(cells), self.empty_text)
        return mark_safe("\n".join(rows))  # noqa: S308 - every cell went through conditional_escape
