"""What the rules read of a bounce: its reply text, normalised, and its effective status. And
its type, hard or soft, from the same codes. Replies are untrusted: nothing here raises."""

from __future__ import annotations

import re

#: Only this many characters of a reply are scanned (replies are untrusted and may be huge).
MAX_REASON_CHARS = 2000

# "5.1.1" not inside "10.5.1.1"; the look-behind comes after the first character so that re
# can skip quickly to candidate digits.
_ENHANCED = re.compile(r"[245](?<![\d.][245])\.\d{1,3}\.\d{1,3}(?![\d.])")
_GENERIC_ENHANCED = re.compile(r"[245]\.0\.0")
_BASIC = re.compile(r"[245]\d\d")
_LEADING_CODE = re.compile(r"\s*[#(\[]?([245])(?:\d\d|\.\d{1,3}\.\d{1,3})(?![\d.])")


def _as_text(value: object) -> str:
    """Any input as a str of at most MAX_REASON_CHARS characters; never raises."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:MAX_REASON_CHARS]
    try:
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value[: MAX_REASON_CHARS * 4])
            return raw.decode("utf-8", "replace")[:MAX_REASON_CHARS]
        return str(value)[:MAX_REASON_CHARS]
    except Exception:  # a hostile __str__: treat as no text
        return ""


def normalise_reason(reason: object) -> str:
    """The reply as the rules read it: its first MAX_REASON_CHARS characters, lower-cased,
    whitespace runs (including line breaks) collapsed to one space. Never raises."""
    # Other control characters are left alone: they cannot make a rule match, and cannot make
    # one raise.
    return " ".join(_as_text(reason).lower().split())


def effective_status(status: object, text: str) -> str:
    """The most specific code available: the given status when it is a specific enhanced
    code; otherwise the first enhanced code in the (normalised) reply ``text``; otherwise a
    generic status (``5.0.0``, ``550``); otherwise the 3-digit code that starts the reply."""
    status = _as_text(status)[:32].strip()
    if _ENHANCED.fullmatch(status) and not _GENERIC_ENHANCED.fullmatch(status):
        return status
    found = _ENHANCED.search(text)
    if found and not _GENERIC_ENHANCED.fullmatch(found.group()):
        return found.group()
    if _ENHANCED.fullmatch(status) or _BASIC.fullmatch(status):
        return status
    if found:
        return found.group()
    leading = _LEADING_CODE.match(text)
    return leading.group().strip(" #([") if leading else ""


def bounce_type(status: str | None, reason: str | None = None) -> str:
    """Return ``"hard"`` or ``"soft"``.

    Enhanced ``5.x.x`` and plain ``5xx`` statuses are hard; ``4.x.x`` / ``4xx`` are soft. When
    the status is empty or unparseable, the SMTP code at the start of the reply decides
    ("550 ..." hard, "452 ..." soft). With neither we say "hard": SendGrid only lists a bounce
    once it has stopped delivering to the address, so the unknown case behaves like a
    permanent failure, and a hard bounce is the conservative assumption for a suppression.
    """
    for value in (status, reason):
        leading = _LEADING_CODE.match(_as_text(value)[:64])
        if leading and leading.group(1) in "45":
            return "hard" if leading.group(1) == "5" else "soft"
    return "hard"
