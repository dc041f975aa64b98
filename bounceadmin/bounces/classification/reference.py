"""The meaning of the rules table, written as plainly as possible: the first row (in table
order) whose patterns match, where a reason pattern matches whole words (it may neither start
nor end inside a word) in the normalised reply, and a status pattern the whole effective
status; else Unclassified / unknown. See rules.py for the table and how it is read.

Slow: every row's whole regex, in turn, on every reply. ``matcher.classify`` gives the same
answers several times faster and is the one to call; the tests hold it equal to this on every
labelled reply and on thousands of generated ones. When the two disagree, this one says what
is meant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .reply import effective_status, normalise_reason
from .rules import RULES, UNCLASSIFIED, Rule


def whole_words(pattern: str) -> str:
    """``pattern`` made to match only whole words (words being runs of ``[a-z0-9]``)."""
    return rf"(?<![a-z0-9])(?:{pattern})(?!(?<=[a-z0-9])[a-z0-9])"


def classify(status: object, reason: object, rules: Sequence[Rule] = RULES) -> tuple[str, str]:
    """``(classification, fault)`` of one bounce under ``rules``; never raises."""
    text = normalise_reason(reason)
    code = effective_status(status, text)
    for rule in rules:
        if rule.status and not re.fullmatch(rule.status, code):
            continue
        if rule.reason and not re.search(whole_words(rule.reason), text):
            continue
        return rule.classification, rule.fault
    return UNCLASSIFIED
