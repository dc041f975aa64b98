"""Classify cached SendGrid bounces from their ``status`` and ``reason``: one of SendGrid's seven
classifications, and whose fault it is.

    rules.py    the table of rules: classes, faults and the ordered rows (the part to edit)
    reply.py    what the rules read: the normalised reply and the effective status; and the
                bounce type (hard or soft)
    matcher.py  the table compiled for speed, on first use: ``classify`` (the refresh's hot path)
"""

from . import matcher, reply
from .matcher import Matcher, classify
from .reply import MAX_REASON_CHARS, bounce_type
from .rules import RULES, Classification, Fault, Rule

__all__ = [
    "MAX_REASON_CHARS",
    "RULES",
    "Classification",
    "Fault",
    "Matcher",
    "Rule",
    "bounce_type",
    "classify",
]

# Private names of the single module this package replaces, for code that reached into it.
_engine = matcher.default
_effective_status = reply.effective_status
_normalise_reason = reply.normalise_reason
