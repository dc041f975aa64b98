"""Lookups and functions for the list's searches and the exports, each written once per database
where they differ: `like` (SQL LIKE with the caller's own `%` wildcards, everything else
literal), `like_indexed` (the same, using the index on SQLite too), `ilike_contains` (icontains
that PostgreSQL can estimate) and `AsStored` (a column as stored, for raw cursors)."""

from django.db.models import CharField, F, Func, Lookup, TextField
from django.db.models.lookups import IContains


@CharField.register_lookup
class Like(Lookup):
    lookup_name = "like"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


@CharField.register_lookup
class LikeIndexed(Like):
    """`like` that an index on the column serves on SQLite too. SQLite cannot use an index for
    LIKE (it is case-insensitive there); an explicit range on the (lowercased) values of the
    pattern's literal prefix can. PostgreSQL derives that range from the LIKE itself
    (text_pattern_ops), and a range in its collation's order would not be the same set."""

    lookup_name = "like_indexed"

    def as_sqlite(self, compiler, connection):
        sql, params = self.as_sql(compiler, connection)
        bounds = prefix_range(literal_prefix(str(self.rhs)))
        if bounds is None:
            return sql, params
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return (
            f"({sql} AND {lhs} >= %s AND {lhs} < %s)",
            [*params, *lhs_params, bounds[0], *lhs_params, bounds[1]],
        )


@CharField.register_lookup
@TextField.register_lookup
class ILikeContains(IContains):
    """`icontains`, written as `col ILIKE '%word%'` on PostgreSQL instead of Django's
    `UPPER(col) LIKE UPPER('%word%')`: the planner estimates ILIKE from the column's statistics,
    while for UPPER(col) it guesses a handful of rows and then scans the whole table and sorts
    instead of walking the created index until a page is full (orders of magnitude slower for
    `reason=mailbox full` over a million bounces; bench/README.md)."""

    lookup_name = "ilike_contains"

    def as_sql(self, compiler, connection):
        return IContains(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs}::text ILIKE {rhs}", [*lhs_params, *rhs_params]


def sendgrid_email_pattern(value: str) -> str:
    """SendGrid's `email` filter as a LIKE pattern: a prefix match where `%` is a wildcard.

    `_` and `\\` are escaped so they match only themselves; addresses are stored lowercased.
    """
    escaped = value.strip().lower().replace("\\", "\\\\").replace("_", "\\_")
    return escaped if escaped.endswith("%") else escaped + "%"


def literal_prefix(pattern: str) -> str:
    """The part of a LIKE pattern before its first wildcard, unescaped ('' when it starts with
    one)."""
    prefix, escaped = [], False
    for char in pattern:
        if escaped:
            prefix.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "%_":
            break
        else:
            prefix.append(char)
    return "".join(prefix)


def prefix_range(prefix: str) -> tuple[str, str] | None:
    """Bounds that every string starting with `prefix` lies within in code-point order (SQLite's
    BINARY collation): [prefix, prefix with its last character incremented)."""
    if not prefix or ord(prefix[-1]) >= 0x10FFFF:
        return None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class AsStored(Func):
    """A column as the database hands it over, for a raw cursor (`raw_chunks`). On SQLite a bare
    datetime column is parsed by the driver, in Python, per value, and an expression is not: the
    export reads the stored text and parses only what it has not seen (csvstream.datetime_text).
    Elsewhere the column itself."""

    template = "%(expressions)s"
    output_field = CharField()

    def __init__(self, field: str):
        super().__init__(F(field))

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="+%(expressions)s", **extra_context)


class EmailDomain(Func):
    """An address's receiving domain: everything after its first `@` (addresses are stored
    lowercased, so the domain is too). Written once for the index on it (Bounce.Meta.indexes)
    and the `domain` filter: a planner uses an expression index only for the very same
    expression, so the `@` is a literal of the SQL, never a parameter (a bound `?` is not the
    literal `'@'` to SQLite's planner)."""

    output_field = CharField()
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        template = "substr(%(expressions)s, instr(%(expressions)s, '@') + 1)"
        return super().as_sql(compiler, connection, template=template, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "substr(%(expressions)s, strpos(%(expressions)s, '@') + 1)"
        return super().as_sql(compiler, connection, template=template, **extra_context)
