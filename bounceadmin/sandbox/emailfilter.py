"""SendGrid's `email` filter on the suppression lists, as SQL for the sandbox's SQLite tables."""

from __future__ import annotations


def like_pattern(value: str) -> tuple[str, str]:
    """Translate SendGrid's `email` filter into (literal prefix, SQL LIKE pattern).

    The filter is a prefix match in which `%` is a wildcard; everything else is literal, so `_`
    (a LIKE wildcard) and our escape character must be escaped. The literal prefix (text before
    the first `%`) lets the query use the (account, email) index as a range scan.
    """
    value = value.lower()
    escaped = value.replace("\\", "\\\\").replace("_", "\\_")
    return value.split("%", 1)[0], escaped + "%"


def prefix_upper_bound(prefix: str) -> str:
    # Smallest string greater than every string starting with `prefix`.
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def email_conditions(email: str | None) -> tuple[list[str], list[str]]:
    """SQL conditions on an `email` column (and their arguments) for the filter; none if empty."""
    if not email:
        return [], []
    prefix, pattern = like_pattern(email)
    where, args = [], []
    if prefix:
        where.append("email >= ? AND email < ?")
        args += [prefix, prefix_upper_bound(prefix)]
    where.append("email LIKE ? ESCAPE '\\'")
    args.append(pattern)
    return where, args
