"""Which audit events a user may see, and the events of one address or one deletion request.

The scoping rule lives in `visible_events` alone; every page, export and partial starts there.
"""

from __future__ import annotations

from django.db.models import BooleanField, F, Func, QuerySet, Value

from bounceadmin.accounts.scoping import sees_everything, visible_subusers

from .models import AuditEvent

# The pages of one address or one request show at most this many (newest first).
EVENTS_LIMIT = 200


def visible_events(user) -> QuerySet[AuditEvent]:
    """Every event for operators who see every subuser; for the others only the events of their
    subusers. Events of no subuser (logins, operator changes, runs over all subusers) belong to
    the operators who see everything."""
    if sees_everything(user):
        return AuditEvent.objects.all()
    names = visible_subusers(user).exclude(username="").values("username")
    return AuditEvent.objects.filter(subuser__in=names)


class ListsAddress(Func):
    """True when the JSON array in `field` holds `address` as a whole element, in any case.

    Portable where Django's JSON `contains` is not (SQLite has no `@>`), and exact where a text
    search of the JSON would not be: "ann@x.test" does not match "joann@x.test". SQLite's lower()
    folds ASCII letters only, which is what addresses are kept in.
    """

    output_field = BooleanField()

    def __init__(self, field: str, address: str):
        super().__init__(F(field), Value(address.strip().lower()))

    def _compiled(self, compiler):
        # Only compiled SQL (a column, a placeholder) goes into the text; the address is a param.
        field = compiler.compile(self.source_expressions[0])
        value = compiler.compile(self.source_expressions[1])
        return field, value

    def as_postgresql(self, compiler, connection, **extra_context):
        (field_sql, field_params), (value_sql, value_params) = self._compiled(compiler)
        array = (
            f"CASE WHEN jsonb_typeof({field_sql}) = 'array' THEN {field_sql} ELSE '[]'::jsonb END"
        )
        sql = (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({array}) AS _a(v) "  # noqa: S608
            f"WHERE lower(_a.v) = {value_sql})"
        )
        return sql, (*field_params, *field_params, *value_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        (field_sql, field_params), (value_sql, value_params) = self._compiled(compiler)
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({field_sql}) AS _a "  # noqa: S608
            f"WHERE _a.type = 'text' AND lower(_a.value) = {value_sql})"
        )
        return sql, (*field_params, *value_params)

    def as_sql(self, compiler, connection, **extra_context):  # pragma: no cover
        raise NotImplementedError("the address lookup is written for SQLite and PostgreSQL")


def with_address(queryset: QuerySet[AuditEvent], address: str) -> QuerySet[AuditEvent]:
    return queryset.filter(ListsAddress("addresses", address))


def events_for_address(user, subuser_name: str, email: str) -> list[AuditEvent]:
    """The newest events about `email` in one subuser's list, as far as the user may see."""
    events = with_address(visible_events(user).filter(subuser=subuser_name), email)
    return list(events.order_by("-at", "-id")[:EVENTS_LIMIT])


def events_for_deletion_request(user, request_id: int) -> list[AuditEvent]:
    """The newest events of one deletion request, as far as the user may see."""
    events = visible_events(user).filter(deletion_request_id=request_id)
    return list(events.order_by("-at", "-id")[:EVENTS_LIMIT])
