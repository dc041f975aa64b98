"""Text from strangers (addresses, reply texts), shown so that what you read is what is stored.

A right-to-left override makes "moc.elpmaxe@kcab" read as another address; a zero-width space or a
no-break space makes two addresses that look alike differ. Wherever an approver reads such text,
every character that is invisible or changes how others are drawn is shown as its code point
(`U+202E`), marked up so it stands out and named in its tooltip.
"""

from __future__ import annotations

import unicodedata

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Python's "not printable" is exactly the set to show: controls, formats (bidi overrides and
# isolates, zero-width characters, soft hyphen, BOM), separators other than " " (no-break and other
# spaces, line and paragraph separators), surrogates, private-use and unassigned code points.
_KEEP_IN_BLOCKS = "\n\t"  # line breaks and tabs of a reply text shown whole, in a <pre>


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def _name(char: str) -> str:
    return unicodedata.name(char, unicodedata.category(char))


@register.filter
def visible_text(value) -> str:
    """Plain text (for a tooltip or a CSV) with each hidden character written as `⟨U+202E⟩`."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"⟨{_code(c)}⟩" for c in text)


@register.filter
def visible(value, keep: str = "") -> SafeString:
    """Escaped HTML with each hidden character shown as a marked-up code point. `keep` lists the
    characters to leave as they are (`visible:"block"` keeps line breaks and tabs)."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return escape(text)
    kept = _KEEP_IN_BLOCKS if keep == "block" else ""
    parts: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if char.isprintable() or char in kept:
            continue
        parts.append(escape(text[start:index]))
        parts.append(
            format_html('<span class="hidden-char" title="{}">{}</span>', _name(char), _code(char))
        )
        start = index + 1
    parts.append(escape(text[start:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part was escaped or format_html
