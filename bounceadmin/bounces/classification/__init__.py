"""Classify cached SendGrid bounces from their ``status`` and ``reason``: one of SendGrid's seven
classifications, and whose fault it is.

    rules.py      the table of rules: classes, faults and the ordered rows (the part to edit)
    reply.py      what the rules read: the normalised reply and the effective status; and the
                  bounce type (hard or soft)
    reference.py  the meaning of the table: a plain, slow loop over the rows
    matcher.py    the same answers, fast: the table compiled into a word index on first use;
                  ``classify``, on the refresh's hot path. The tests hold it equal to reference
"""

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
