"""A `like` lookup: SQL LIKE with the caller's own `%` wildcards, everything else literal."""

from django.db.models import CharField, Lookup


@CharField.register_lookup
class Like(Lookup):
    lookup_name = "like"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


def sendgrid_email_pattern(value: str) -> str:
    """SendGrid's `email` filter as a LIKE pattern: a prefix match where `%` is a wildcard.

    `_` and `\\` are escaped so they match only themselves; addresses are stored lowercased.
    """
    escaped = value.strip().lower().replace("\\", "\\\\").replace("_", "\\_")
    return escaped if escaped.endswith("%") else escaped + "%"
