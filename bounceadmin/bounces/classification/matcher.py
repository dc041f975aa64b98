r"""The fast reading of the rules table: the same answers as reference.py (the first row in
table order whose patterns match wins, a reason pattern matching whole words), fast enough for
a refresh of a million bounces; the tests hold the two equal. Built from whatever table it is
given, so adding a row to the table needs no change here.

Speed: the plain loop of reference.py tries row after row of big alternations on every reply,
and a reply that no row knows pays for all of them: several times slower than this, on the hot
path of a refresh. So the table is indexed once, on first use. Top-level alternatives (with a
leading "(?:a|b)" distributed) are compiled one by one, and for each we derive from re's parse
tree two conditions on the words of a reply (words = runs of [a-z0-9]):
  * its first word: "user unknown" needs the word "user";
  * another word it cannot match without: "unknown"; "disabled" or "suspended" or ...
Per reply we split it into words once (bytes.translate + split, in C), OR together the bitmasks
of the alternatives those words enable, keep those passing both conditions, and run only their
regexes, lowest bit (= table order) first: usually one to three. Where a condition cannot be
derived it is not applied (a needed string that is not a whole word is tested as a substring
instead; a first word that may run on, as in "throttl\w*", is indexed by its first three
letters): still correct, only slower.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Sequence
from typing import NamedTuple

from .reply import MAX_REASON_CHARS, effective_status, normalise_reason
from .rules import RULES, UNCLASSIFIED, Rule

_HEAD = 3  # letters that index a first word which a pattern lets run on ("throttl\w*")
_WORD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
_EDGE = "\x00"  # marks, inside a derived literal, a place where no letter or digit can be
_END_GUARD = "(?!(?<=[a-z0-9])[a-z0-9])"  # a match may not end inside a word
_NOT_WORD_TO_SPACE = bytes(c if chr(c) in _WORD_CHARS else 32 for c in range(256))
_WORDS_IN = re.compile("[a-z0-9]+")
_FIRST_LETTERS = operator.itemgetter(slice(_HEAD))


class _Alternative(NamedTuple):
    row: int  # index into RULES
    needles: tuple[str, ...]  # substrings, one of which a match needs (empty: nothing to test)
    reason: re.Pattern[str] | None  # with the end guard; a match must also start a word
    status: re.Pattern[str] | None


class _WordCondition(NamedTuple):
    words: frozenset[bytes]  # one of these words occurs ...
    heads: frozenset[bytes]  # ... or a word starting with one of these letters


def _top_level(pattern: str):
    """Yield (index, char) for the characters of a regex outside escapes, character classes
    and groups, plus (index, ")") for the end of each top-level group."""
    depth, i = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1
        elif char == "[":
            i += 2 if pattern[i + 1 : i + 2] == "^" else 1
            i += 1 if pattern[i : i + 1] == "]" else 0
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if not depth:
                yield i, char
        elif not depth:
            yield i, char
        i += 1


def _split_alternatives(pattern: str) -> list[str]:
    """Split a regex at its top-level ``|``; a leading ``(?:a|b)`` group is distributed, so
    "(?:user|mailbox) unknown" gives "user unknown" and "mailbox unknown" (each then has a
    literal first word, which both the index and re's own search use)."""
    cuts = [i for i, char in _top_level(pattern) if char == "|"]
    parts = [pattern[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(pattern)], strict=True)]
    expanded = []
    for part in parts:
        close = next((i for i, char in _top_level(part) if char == ")"), None)
        rest = part[close + 1 :] if close is not None else ""
        if part.startswith("(?:") and not rest.startswith(("?", "*", "+", "{")):
            expanded += [inner + rest for inner in _split_alternatives(part[3:close])]
        else:
            expanded.append(part)
    return expanded


def _edge_next(items: list, sre) -> bool:
    r"""True if whatever the parsed regex ``items`` matches first is not a letter or digit:
    a non-word character, a \b, or nothing at all (the end of the pattern, where the end
    guard forbids a following letter or digit)."""
    for i, (op, arg) in enumerate(items):
        rest = items[i + 1 :]
        if op is sre.LITERAL:
            return chr(arg) not in _WORD_CHARS
        if op is sre.AT and arg is sre.AT_BOUNDARY:
            return True
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            continue
        if op is sre.SUBPATTERN:
            return _edge_next([*arg[-1], *rest], sre)
        if op is sre.BRANCH:
            return all(_edge_next([*branch, *rest], sre) for branch in arg[1])
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            first = _edge_next([*arg[2], *rest], sre)
            return first and (arg[0] >= 1 or _edge_next(list(rest), sre))
        if op is sre.IN:  # a class of non-word characters only, like [- ]
            return all(kind is sre.LITERAL and chr(c) not in _WORD_CHARS for kind, c in arg)
        return False
    return True


def _prefixes(items: list, sre) -> set[str] | None:
    r"""The literal text every match of the parsed regex ``items`` starts with (one string per
    leading branch), with _EDGE appended when no letter or digit can follow it; None if
    unknown."""
    prefix = ""
    for i, (op, arg) in enumerate(items):
        if op is sre.LITERAL:
            prefix += chr(arg)
        elif prefix:
            return {prefix + _EDGE if _edge_next(items[i:], sre) else prefix}
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):  # zero-width: \b, (?<=\[)
            continue
        elif op is sre.SUBPATTERN:
            return _prefixes([*arg[-1], *items[i + 1 :]], sre)
        elif op is sre.BRANCH:
            found = [_prefixes([*branch, *items[i + 1 :]], sre) for branch in arg[1]]
            return set().union(*found) if all(found) else None
        else:
            return None
    return {prefix + _EDGE} if prefix else None


def _needed(items: list, sre, left: str = "", rest: tuple = ()) -> list[set[str]]:
    """Sets of literals (with _EDGE marks) such that every match of the parsed regex ``items``
    contains a member of each set. ``left``: an _EDGE if a non-word character precedes
    ``items``; ``rest``: the parsed items that follow it in the whole pattern."""
    options: list[set[str]] = []
    run = left
    for i, (op, arg) in enumerate(items):
        if op is sre.LITERAL:
            run += chr(arg)
            continue
        if op is sre.AT and arg is sre.AT_BOUNDARY:
            run += _EDGE
            continue
        if run and run[-1] in _WORD_CHARS and _edge_next([*items[i:], *rest], sre):
            run += _EDGE
        edge_before = _EDGE if run and run[-1] not in _WORD_CHARS else ""
        options.append({run})
        run = ""
        after = (*items[i + 1 :], *rest)
        if op is sre.SUBPATTERN:
            options += _needed(list(arg[-1]), sre, edge_before, after)
        elif op is sre.BRANCH:
            branches = [_needed(list(branch), sre, edge_before, after) for branch in arg[1]]
            if all(branches):  # one literal per branch; the branch's best one will do
                options.append(set().union(*(_best_needles(b) for b in branches)))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and arg[0] >= 1:
            options += _needed(list(arg[2]), sre)
    if run and run[-1] in _WORD_CHARS and _edge_next(list(rest), sre):
        run += _EDGE
    options.append({run})
    return [option for option in options if option and all(m.strip(_EDGE) for m in option)]


def _best_needles(options: list[set[str]]) -> set[str]:
    return max(options, key=lambda option: min(len(m.strip(_EDGE)) for m in option))


def _edged_words(literal: str) -> list[tuple[bytes, bool]]:
    """The words of a literal that start after an edge, each with "it also ends at one"."""
    return [
        (match.group().encode(), match.end() < len(literal))
        for match in _WORDS_IN.finditer(literal)
        if match.start() > 0
    ]


def _first_word(prefixes: set[str]) -> _WordCondition | None:
    """First-word condition: each prefix starts a match, so its first word starts at an edge:
    an exact word if it also ends at one, else a head (a word starting with those letters)."""
    words, heads = set(), set()
    for prefix in prefixes:
        edged = _edged_words(_EDGE + prefix)
        word, whole = edged[0] if edged else (b"", False)
        if whole:
            words.add(word)
        elif len(word) >= _HEAD:
            heads.add(word[:_HEAD])
        else:
            return None
    return _WordCondition(frozenset(words), frozenset(heads))


def _needed_word(literals: set[str], first: _WordCondition | None) -> _WordCondition | None:
    """Needed-word condition from "one of these literals occurs": for each literal its
    longest whole word (not the first word again), or None if some literal has none."""
    skip = {word[:_HEAD] for word in first.words} | first.heads if first else set()
    words = set()
    for literal in literals:
        whole = [word for word, ends in _edged_words(literal) if ends and word[:_HEAD] not in skip]
        if not whole:
            return None
        words.add(max(whole, key=len))
    return _WordCondition(frozenset(words), frozenset())


def _analyse(source: str) -> tuple[_WordCondition | None, _WordCondition | None, tuple[str, ...]]:
    """(first-word condition, needed-word condition, substring needles) of one alternative."""
    try:  # re's parser is private: if it ever changes, the table is just not indexed
        from re import _constants as sre
        from re import _parser

        parsed = list(_parser.parse(source))
        prefixes = _prefixes(parsed, sre)
        options = _needed(parsed, sre, left=_EDGE)
    except Exception:
        return None, None, ()
    first = _first_word(prefixes) if prefixes else None
    conditions = [c for option in options if (c := _needed_word(option, first))]
    if conditions:  # the rarest-looking: the longest shortest word
        return first, max(conditions, key=lambda c: min(map(len, c.words))), ()
    # Else a substring test, preferably not on the literal the match starts with.
    starts = [prefix.replace(_EDGE, "") for prefix in prefixes or ()]
    later = [o for o in options if not all(p.startswith(m.strip(_EDGE)) for m in o for p in starts)]
    needles = _best_needles(later or options) if options else set()
    return first, None, tuple(sorted(m.replace(_EDGE, "") for m in needles))


class Matcher:
    """A rules table compiled for speed: ``Matcher(table).classify(status, reason)`` gives the
    outcome of the first matching row of ``table``. A mask has two fields of ``width`` bits,
    one bit per alternative: the low field says its first-word condition holds, the high field
    its needed-word condition. Whole words and 3-letter heads share ``keys``: a reply offers
    its words and (only if some head is in use) their heads, so a 3-letter key may also be met
    by a longer word with that head. That only adds candidates, never hides one."""

    alternatives: tuple[_Alternative, ...]
    outcomes: tuple[tuple[str, str], ...]  # per alternative
    keys: dict[bytes, int]  # word or head -> mask of the conditions it satisfies
    unindexed: int  # mask of the conditions that hold for every reply
    width: int
    status_only: tuple[int, ...]  # alternatives of status-only rows, in table order
    heads_used: bool

    def __init__(self, rules: Sequence[Rule]) -> None:
        """Compile ``rules``; ValueError if the table is malformed."""
        sources = [[*_split_alternatives(r.reason)] if r.reason else [None] for r in rules]
        width = sum(map(len, sources))
        alternatives: list[_Alternative] = []
        keys: dict[bytes, int] = {}
        unindexed = 0
        status_only: list[int] = []
        heads_used = False
        for row, (rule, row_sources) in enumerate(zip(rules, sources, strict=True)):
            status = re.compile(rule.status) if rule.status else None
            if not rule.reason and not status:
                raise ValueError(f"rule {row} has neither a reason nor a status pattern")
            if rule.reason and status_only:
                raise ValueError(f"rule {row} reads the reply but follows a status-only row")
            for source in row_sources:
                bit = 1 << len(alternatives)
                if source is None:
                    status_only.append(len(alternatives))
                    alternatives.append(_Alternative(row, (), None, status))
                    continue
                first, needed, needles = _analyse(source)
                for shift, condition in ((0, first), (width, needed)):
                    if condition is None:
                        unindexed |= bit << shift
                        continue
                    heads_used |= bool(condition.heads)
                    for key in condition.words | condition.heads:
                        keys[key] = keys.get(key, 0) | bit << shift
                regex = re.compile(f"(?:{source}){_END_GUARD}")
                alternatives.append(_Alternative(row, needles, regex, status))
        self.alternatives = tuple(alternatives)
        self.outcomes = tuple(
            (rules[a.row].classification, rules[a.row].fault) for a in alternatives
        )
        self.keys = keys
        self.unindexed = unindexed
        self.width = width
        self.status_only = tuple(status_only)
        self.heads_used = heads_used

    def classify(self, status: object, reason: object) -> tuple[str, str]:
        """``(classification, fault)``: the outcome of the first alternative (in table order)
        that matches, else Unclassified / unknown. Never raises, whatever the input."""
        if type(reason) is str:  # the hot path: skip _as_text's checks
            text = " ".join(reason[:MAX_REASON_CHARS].lower().split())
        else:
            text = normalise_reason(reason)
        mask = self._candidates(text) if text else 0
        while mask:
            lowest = mask & -mask
            mask ^= lowest
            index = lowest.bit_length() - 1
            _, needles, reason_regex, status_regex = self.alternatives[index]
            for needle in needles:
                if needle in text:
                    break
            else:
                if needles:
                    continue
            if status_regex is not None and not status_regex.fullmatch(
                effective_status(status, text)
            ):
                continue
            match = reason_regex.search(text)
            while match is not None:  # a match must also start at the start of a word
                start = match.start()
                if not start or text[start - 1] not in _WORD_CHARS:
                    return self.outcomes[index]
                match = reason_regex.search(text, start + 1)
        code = effective_status(status, text) if self.status_only else ""
        for index in self.status_only:
            if self.alternatives[index].status.fullmatch(code):
                return self.outcomes[index]
        return UNCLASSIFIED

    def _candidates(self, text: str) -> int:
        """Mask of the reason alternatives that may match ``text`` (both conditions hold)."""
        words = text.encode("ascii", "replace").translate(_NOT_WORD_TO_SPACE).split()
        keys = self.keys
        found = keys.keys() & words
        if self.heads_used:
            found.update(keys.keys() & map(_FIRST_LETTERS, words))
        bits = functools.reduce(operator.or_, map(keys.get, found), self.unindexed)
        return bits & (bits >> self.width)


@functools.cache
def default() -> Matcher:
    """The matcher of RULES, compiled on first use, not at import (a process that never
    classifies never pays for it)."""
    return Matcher(RULES)


def classify(status: str | None, reason: str | None) -> tuple[str, str]:
    """Return ``(classification, fault)`` for one bounce: the first matching row of RULES,
    else Unclassified / unknown. Never raises, whatever the input (only a malformed RULES
    table raises, on first use)."""
    return default().classify(status, reason)
