r"""Classify cached SendGrid bounces from their ``status`` and ``reason``.

SendGrid's list API returns only the status (an enhanced code such as ``5.1.1``, sometimes a
plain ``550``, sometimes nothing) and the remote server's reply text. We map each bounce onto
SendGrid's seven classifications and mark whose fault it is, with one ordered table of rules.

How the table is read
---------------------
* Each :class:`Rule` row has a ``reason`` regex and/or a ``status`` regex, and the
  ``(classification, fault)`` it yields. The FIRST row (in table order) that matches wins; a
  row with both patterns needs both to match.
* ``reason`` regexes are searched in the normalised reply: its first :data:`MAX_REASON_CHARS`
  characters, lower-cased, with each run of whitespace collapsed to one space. Write them in
  lower case with single spaces. They match from the start of a word only (a letter or digit
  not preceded by one), so each top-level alternative should begin with a literal word:
  "spamhaus" matches "zen.spamhaus.org" but not "nospamhaus"; "(?<=\[)bl2\d\]" matches
  "[BL21]".
* ``status`` regexes must match the whole *effective status*: the given status when it is a
  specific enhanced code; otherwise the first enhanced code found in the reply (``550 5.1.1
  ...``); otherwise a generic status (``5.0.0``, ``550``); otherwise the 3-digit code that
  starts the reply.
* Text first, status second: all rows that look at the reply come before the status-only
  rows at the end, so a reply that says "user unknown" is Invalid Address even if its status
  is ``5.7.1``.
* When nothing matches: Unclassified, fault unknown. We would rather say "don't know" than
  guess. Unclassified always has fault ``unknown``.

To add a rule, insert a row where its priority belongs and add a labelled example to
``tests/data/bounce-reasons-extra.tsv``; the tests run every labelled row.

Fault
-----
``recipient``: the address itself is bad or unusable (Invalid Address, Mailbox Unavailable).
``sender``: the sender's reputation, content, volume or own configuration caused it (Reputation,
Content, Frequency, and the sender-side Technical Failures: authentication and message size).
``unknown``: infrastructure, or unclear.
"""

from __future__ import annotations

import functools
import operator
import re
from typing import NamedTuple

from django.db import models

__all__ = [
    "MAX_REASON_CHARS",
    "RULES",
    "Classification",
    "Fault",
    "Rule",
    "bounce_type",
    "classify",
]

#: Only this many characters of a reply are scanned (replies are untrusted and may be huge).
MAX_REASON_CHARS = 2000


class Classification(models.TextChoices):
    """SendGrid's bounce and block classifications (values are SendGrid's exact names)."""

    INVALID_ADDRESS = "Invalid Address", "Invalid Address"
    MAILBOX_UNAVAILABLE = "Mailbox Unavailable", "Mailbox Unavailable"
    TECHNICAL_FAILURE = "Technical Failure", "Technical Failure"
    REPUTATION = "Reputation", "Reputation"
    CONTENT = "Content", "Content"
    FREQUENCY_OR_VOLUME = "Frequency or Volume Too High", "Frequency or Volume Too High"
    UNCLASSIFIED = "Unclassified", "Unclassified"


class Fault(models.TextChoices):
    """Whose problem the bounce is."""

    RECIPIENT = "recipient", "Recipient"
    SENDER = "sender", "Sender"
    UNKNOWN = "unknown", "Unknown"


class Rule(NamedTuple):
    """One row of :data:`RULES`. At least one of ``reason`` and ``status`` is set."""

    reason: str | None  # regex searched in the normalised (lower-case, single-spaced) reply
    status: str | None  # regex that must match the whole effective status code
    classification: str
    fault: str


_IA = Classification.INVALID_ADDRESS.value
_MU = Classification.MAILBOX_UNAVAILABLE.value
_TF = Classification.TECHNICAL_FAILURE.value
_REP = Classification.REPUTATION.value
_CON = Classification.CONTENT.value
_FRQ = Classification.FREQUENCY_OR_VOLUME.value
_UNC = Classification.UNCLASSIFIED.value
_RCPT = Fault.RECIPIENT.value
_SNDR = Fault.SENDER.value
_UNK = Fault.UNKNOWN.value

# fmt: off
RULES: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- Invalid Address
    # The mailbox does not exist, or the address is malformed. Checked first: these phrases
    # are unambiguous and often sit inside otherwise misleading replies ("mailbox unavailable
    # (user does not exist)", status 5.7.1 with "User unknown").
    Rule(r"user unknown|unknown (?:or illegal )?(?:local )?(?:user|recipient|mailbox|address"
         r"|addressee)|(?:recipient|addressee|mailbox) unknown|no such (?:local )?(?:user"
         r"|mailbox|recipient|address|account|person)|is not a known user",
         None, _IA, _RCPT),
    Rule(r"(?:user|mailbox|recipient|address|account|addressee)\b[^.;]{0,40}?"
         r"(?:does not|doesn't|did not|no longer) exists?"
         r"|doesn't have an? [\w.-]+ account",                             # Yahoo "dd"
         None, _IA, _RCPT),
    Rule(r"recip(?:ient)?notfound|exrecipnotfound"                        # Exchange RESOLVER
         r"|(?:recipient|user|mailbox|addressee|account) (?:was )?not found"
         r"|not listed in (?:the |our |this )?(?:public name|domino|(?:global )?address "
         r"(?:book|list)|(?:\w+ )?directory)"                               # Lotus Domino
         r"|no mailbox here|not our customer|user not local|(?:user|mailbox) has moved"
         r"|account (?:has been |was )?(?:deleted|removed)",
         None, _IA, _RCPT),
    # Microsoft 365 Directory-Based Edge Blocking: "550 5.4.1 Recipient address rejected:
    # Access denied" is sent when the recipient is not in the tenant's directory.
    Rule(r"recipient address rejected: access denied", None, _IA, _RCPT),
    # RFC 7505 null MX: the domain publishes that it accepts no mail at all, so no address
    # there is deliverable. Classed with Invalid Address rather than DNS trouble.
    Rule(r"null mx", None, _IA, _RCPT),
    Rule(r"invalid (?:recipient|mailbox|user|address|e-?mail address|destination address|rcpt)"
         r"|(?:recipient|mailbox|email|e-mail|destination) address (?:is )?"
         r"(?:invalid|not valid|unknown)"
         r"|not a valid (?:rfc ?\d* )?(?:e-?mail |recipient |mailbox |destination )?"
         r"(?:address|mailbox|recipient|user)"
         r"|bad (?:recipient|destination mailbox|(?:e-?mail )?address|mailbox)"
         r"|illegal (?:recipient|address)|(?:address|recipient) syntax"
         r"|malformed (?:address|recipient)|syntax error in (?:recipient|address|mailbox)",
         None, _IA, _RCPT),

    # ---------------------------------------------------------- Frequency: sender quotas
    # Before the mailbox-quota rows: "Daily sending quota exceeded" is the SENDER's quota
    # (labelled Frequency or Volume Too High), not a full mailbox.
    Rule(r"(?:sending|outbound|outgoing) (?:quota|limit|rate)"
         r"|(?:daily|hourly) (?:user )?(?:message )?(?:quota|limit) (?:exceeded|reached)",
         None, _FRQ, _SNDR),

    # ------------------------------------------------------------ Mailbox Unavailable
    # Full mailbox / over quota.
    Rule(r"(?:mail ?box|inbox|maildir|mail folder)(?: is| was)? full|over ?quota|quota ?exceeded"
         r"|over (?:its |the |his |her |their )?(?:storage|disk|space|mailbox|size) "
         r"(?:quota|limit)"
         r"|exceeded (?:its |the |his |her |their |your )?(?:storage|disk|mailbox|quota)"
         r"|mailbox size limit|mailbox (?:quota|storage)|storage (?:quota|limit)"
         r"|disk ?(?:space )?quota|overdrawn|out of (?:storage|disk) space"
         r"|insufficient (?:user |mailbox )?(?:storage|disk space|space) (?:for|in|on) "
         r"(?:the )?(?:user|recipient|mailbox)",
         None, _MU, _RCPT),
    # Disabled, suspended, inactive mailboxes and accounts.
    Rule(r"(?:mail ?box|account|user|recipient|inbox)\b[^.;]{0,30}?(?:is |has been |was )?"
         r"\b(?:disabled|suspended|deactivated|inactive|frozen|expired|terminated|closed|locked)\b"
         r"|(?:disabled|suspended|deactivated|inactive|dormant|expired|closed|locked) "
         r"(?:mail ?box|account|user|recipient|inbox)",
         None, _MU, _RCPT),
    # Gmail 4.2.1 "The user you are trying to contact is receiving mail at a rate that prevents
    # additional messages from being delivered": a per-RECIPIENT limit, labelled Mailbox
    # Unavailable in the reference data. Must come before the Frequency rows ("rate").
    Rule(r"receiving (?:mail|messages|e-?mail) (?:at a rate|too quickly|too fast)"
         r"|mailbox (?:is )?(?:busy|locked|in use)",
         None, _MU, _RCPT),

    # ---------------------------------------- Technical Failure (sender): authentication
    # SPF / DKIM / DMARC / reverse-DNS failures (5.7.20-5.7.27). Honestly ambiguous: SendGrid's
    # Technical Failure covers "DNS ... configuration" problems while Reputation is for
    # blocklisted or distrusted senders. The reply says the sender's DNS/authentication setup
    # is wrong, not that the sender is distrusted, so: Technical Failure, fault sender (the
    # address is fine; only the sender can fix it). Before Reputation/Content because these
    # replies say "blocked" and "policy".
    Rule(r"dmarc|spf\b|sender policy framework|dkim|domainkeys"
         r"|unauthenticated (?:e-?mail|mail|message|sender)|sender is unauthenticated"
         r"|fails? to pass authentication|ptr\b|reverse (?:dns|hostname|lookup)|rdns\b"
         r"|cannot find your (?:reverse )?hostname",
         None, _TF, _SNDR),

    # ---------------------------------------- Technical Failure (unknown): relay denials
    # "Relay access denied" / "not permitted to relay": usually a stale MX, a domain no longer
    # hosted there, or a misrouted message. Labelled Technical Failure / unknown in the
    # reference data even with status 5.7.1. Before Reputation ("Access denied").
    Rule(r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed|refused)"
         r"|(?:not permitted|not allowed|not authori[sz]ed|unable|cannot|can't) (?:to )?relay"
         r"|we do not relay|no relaying|rcpthosts|non-accepted domain",
         None, _TF, _UNK),

    # ------------------------------------------------------ Content: links in the body
    # Before Reputation: "URL in message body is blacklisted" / "URL listed in SURBL" is about
    # the message's links (labelled Content), not the sending IP.
    Rule(r"(?:url|uri|link|hyperlink)s?\b[^.;]{0,40}?(?:black|block|deny)[- ]?list"
         r"|(?:url|uri|link|hyperlink)s? (?:in|within|found in|contained in) (?:the )?"
         r"(?:message|body|e-?mail|content)"
         r"|(?:url|uri|link)s? (?:is |are |was )?(?:blacklisted|blocklisted|blocked|listed)"
         r"|surbl\b|uribl\b|malicious (?:url|link)",
         None, _CON, _SNDR),

    # -------------------------------------------------------------------- Reputation
    # Blocklists (DNSBLs), banned or distrusted sending IPs/domains, provider block codes.
    # Reputation-driven rate limits ("temporarily rate limited due to IP reputation", Gmail's
    # "unusual rate of unsolicited mail originating from your IP") name reputation as the
    # cause, so they land here rather than in Frequency.
    Rule(r"spamhaus|spamcop|barracuda ?(?:reputation|central)|barracudacentral|sorbs\b"
         r"|uceprotect|spamrats|psbl\b|invaluement|mailspike|abuseat|cbl\b"
         r"|blocked using|(?:listed|listing) (?:in|on|at|by)\b|(?:black|block|deny)[- ]?list"
         r"|(?:rbl|dnsbl)\b|banned (?:sending|sender|ip|host)|reputation|sender ?base"
         r"|unsolicited mail originating|traffic not accepted|not accepted from this ip"
         r"|(?<=\[)bl2\d\]|(?<=\[)tss09\]|(?<=\[)ts03\]|permanently deferred"      # Yahoo
         r"|ipcheck\.proofpoint"
         r"|(?:your|sending|client|sender) (?:ip|host|mta|server)(?: address)?\b[^.;]{0,40}?"
         r"\b(?:blocked|banned|blacklisted|blocklisted|listed)\b"
         r"|dynamic (?:ip|address|pool)|dial-?up",
         None, _REP, _SNDR),

    # ------------------------------------------------ Technical Failure (sender): size
    # Message too large (5.3.4, 5.2.3). Honestly ambiguous: not Content (SendGrid's Content is
    # "judged spam, or its links or attachments were refused") and not Mailbox Unavailable;
    # a size limit is a server configuration limit, so Technical Failure. Fault sender: the
    # address is fine, the sender must send a smaller message. Before Content ("attachment").
    Rule(r"(?:message|mail|email|e-mail)(?: size| length)?(?: is| was)? too (?:large|big|long)"
         r"|(?:message|mail|data|email|e-mail) (?:size|length) (?:exceeds|exceeded|limit|is over)"
         r"|exceeded [^.;]{0,30}?(?:message|mail) size|recipsizelimit|sendsizelimit|sizelimit"
         r"|size limit|too large"
         r"|exceeds (?:the )?(?:maximum|fixed|allowed|max)\b[^.;]{0,20}?size",
         None, _TF, _SNDR),

    # ----------------------------------------------------------------------- Content
    Rule(r"spam\b|spamassassin|junk\b|(?:unsolicited|bulk) (?:mail|e-?mail|message|content)"
         r"|(?:likely|suspected|classified as|considered|identified as|detected as|flagged as"
         r"|looks like|appears to be) (?:unsolicited|bulk|spam|junk)"
         r"|(?:virus|viruses|malware|trojan|worm|infected|eicar)\b|attachment"
         r"|(?:file|extension) type|content (?:filter|rejected|policy|scan|not accepted)"
         r"|message content|scam\b|fraud|phish|bsf:|(?<=\[)ph01\]|security issue"
         r"|(?:prohibited|illegal|suspicious|malicious|dangerous|forbidden|banned) "
         r"(?:content|file|attachment|extension)|spam score|probability of spam",
         None, _CON, _SNDR),

    # ------------------------------------------------- Frequency or Volume Too High
    # Includes Yahoo [TSS04] "temporarily deferred due to unexpected volume or user complaints"
    # (a temporary throttle; its first-named cause is volume) and Microsoft's S77714 "Server
    # busy. Please try again later from [IP]" throttle. "Too many recipients" (4.5.3) is a
    # per-message volume limit, so it is here too.
    Rule(r"too many (?:[\w-]+ ){0,3}?(?:connections|sessions|messages|mails|e-?mails"
         r"|recipients|rcpts?|requests|connection attempts|deliveries)"
         r"|rate[- ]?limit|rate[- ]?control|(?:rate|frequency) (?:exceeded|too high)|throttl"
         r"|(?:unexpected|unusual|excessive|high|abnormal) (?:mail |message |e-?mail )?"
         r"(?:volume|traffic)|volume (?:too high|limit|exceeded)|(?<=\[)tss04\]|(?<=\[)ts04\]"
         r"|s77714\b"
         r"|mail flood|too fast|too frequent"
         r"|(?:connection|message|delivery|concurrency) (?:limit|rate) (?:exceeded|reached)",
         None, _FRQ, _SNDR),

    # ---------------------------------------------------- Technical Failure: DNS
    # Includes typo domains ("Unable to resolve MX host example.ne" is labelled Technical
    # Failure / unknown in the reference data): a lookup failure is not proof the address is
    # bad, so we do not call it Invalid Address.
    Rule(r"(?:unable|failed|could not|couldn't|cannot|can't) (?:to )?(?:resolve|look ?up|find)"
         r"\b[^.;]{0,30}?\b(?:mx|host|domain|dns|a record|aaaa)\b"
         r"|host or domain name not found|name service error|(?:host|domain) (?:name )?not found"
         r"|mx not found"
         r"|no mx\b|mx (?:record )?(?:lookup|not found|missing|error)"
         r"|dns\b[^.;]{0,20}?(?:error|failure|failed|lookup|query|timeout|problem|resolution)"
         r"|servfail|nxdomain|no such (?:host|domain)|domain (?:name )?(?:does not|doesn't) exist"
         r"|unknown (?:host|domain)|non-?existent (?:domain|host)|unroute?able domain"
         r"|bad destination (?:host|system)",
         None, _TF, _UNK),
    # Connections, timeouts, TLS, loops, expiry.
    Rule(r"connection (?:refused|timed out|timeout|reset|dropped|closed by|lost|failed|error)"
         r"|timed out|timeout\b|(?:could not|couldn't|unable to|failed to|cannot|can't) "
         r"(?:connect|establish)|lost connection|no (?:answer|response) from"
         r"|(?:network|host) (?:is )?unreachable|no route to host|broken pipe|socket ?error"
         r"|tls\b|ssl\b|starttls|encryption (?:is )?(?:required|needed)|certificate|handshake"
         r"|(?:mail|smtp|routing) loop|loops? (?:back|detected)|hop count|too many hops"
         r"|delivery time expired|(?:message|delivery) (?:expired|delayed)"
         r"|retry (?:timeout|time) exceeded|(?:too long|expired) in (?:the )?queue",
         None, _TF, _UNK),
    # Server-side faults, configuration, protocol.
    Rule(r"insufficient system storage|not accepting network messages"
         r"|local (?:error|problem) in processing"
         r"|(?:temporary|internal) (?:local |server |system )?(?:failure|error|problem)"
         r"|configuration (?:problem|error)|misconfigur|syntax error"
         r"|command (?:not recognized|unrecognized|not implemented)|unrecognized command"
         r"|protocol (?:error|violation)|bad sequence of commands|pipelining"
         r"|authentication required|not authenticated|(?:helo|ehlo)\b",
         None, _TF, _UNK),

    # ------------------------------------------- Mailbox Unavailable: generic wording
    # Last among the text rows: providers prefix many specific replies with "Requested action
    # not taken: mailbox unavailable", so every more specific row gets the first chance.
    Rule(r"mailbox (?:is )?(?:currently |temporarily )?(?:unavailable|not available|inaccessible)"
         r"|(?:recipient|user) (?:is )?(?:currently |temporarily )?unavailable",
         None, _MU, _RCPT),

    # ------------------------------------------------- status-only fallback (RFC 3463)
    # Only when no text row matched. Deliberately absent, and so Unclassified: x.0.x, x.7.0,
    # x.7.1 (used for everything from spam to relay denial) and plain 3-digit codes.
    Rule(None, r"[45]\.1\.(?:0|1|3|6|10)", _IA, _RCPT),  # bad mailbox / syntax / moved
    Rule(None, r"[45]\.1\.2", _TF, _UNK),                # bad destination system (DNS level)
    Rule(None, r"[45]\.2\.[012]", _MU, _RCPT),           # mailbox disabled / full
    Rule(None, r"[45]\.7\.13", _MU, _RCPT),              # user account disabled
    Rule(None, r"[45]\.(?:2\.3|3\.4)", _TF, _SNDR),      # message too large (see size row)
    Rule(None, r"[45]\.7\.2[0-7]", _TF, _SNDR),          # DKIM/SPF/DMARC/rDNS failures
    Rule(None, r"[45]\.7\.1[01]", _TF, _UNK),            # encryption required
    Rule(None, r"[45]\.7\.(?:6(?:0[6-9]|[1-4]\d)|51[01]|708)", _REP, _SNDR),  # Microsoft IP bans
    Rule(None, r"[45]\.5\.3", _FRQ, _SNDR),              # too many recipients
    Rule(None, r"[45]\.[345]\.\d{1,3}", _TF, _UNK),      # mail system / network / protocol
)
# fmt: on

_UNCLASSIFIED = (_UNC, _UNK)

# ------------------------------------------------------------------------- engine
# Semantics: the first row in table order whose regexes match wins, where a reason regex only
# matches from the start of a word (a letter or digit not preceded by one). The tests compare
# the engine with exactly that, written as a plain loop over RULES.
#
# Speed: trying ~300 regex alternatives on each of a million replies is far too slow in
# Python, so the table is indexed once, at import. Per alternative we derive two conditions
# on the words of a reply (words = runs of [a-z0-9]), each "one of these words occurs" or
# "a word starting with one of these three letters occurs":
#   * its first word ("user unknown" needs the word "user"; "throttl" a word starting "thr");
#   * a word it cannot match without ("disabled" or "suspended" or ... for the disabled row).
# Per reply we split it into words once (bytes.translate + split, in C), OR together the
# bitmasks of alternatives that pass both conditions, and run only those regexes, lowest bit
# (= table order) first. Where a condition cannot be derived it is simply not applied (for a
# needed string that is not a whole word, a substring test is used instead): still correct,
# only slower. A test keeps every alternative indexed by its first word.

_HEAD = 3  # letters that index a word which a pattern lets run on ("throttl")
_WORD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
_EDGE = "\x00"  # marks a \b (or the start of a match) inside a derived literal
_NOT_WORD_TO_SPACE = bytes(c if chr(c) in _WORD_CHARS else 32 for c in range(256))
_WORDS_IN = re.compile(f"[{_WORD_CHARS}]+")
_FIRST_LETTERS = operator.itemgetter(slice(_HEAD))


class _Alternative(NamedTuple):
    row: int  # index into RULES
    needles: tuple[str, ...]  # substrings, one of which a match needs (empty: nothing to test)
    reason: re.Pattern[str] | None  # searched, then checked to start at a word start
    status: re.Pattern[str] | None


class _WordCondition(NamedTuple):
    words: frozenset[bytes]  # one of these words occurs ...
    heads: frozenset[bytes]  # ... or a word starting with one of these


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


def _prefixes(items: list, sre) -> set[str] | None:
    r"""The literal text every match of the parsed regex ``items`` starts with (one string per
    leading branch), with _EDGE appended when a \b follows it; None if unknown."""
    prefix = ""
    for i, (op, arg) in enumerate(items):
        if op is sre.LITERAL:
            prefix += chr(arg)
        elif prefix:
            return {prefix + _EDGE if op is sre.AT and arg is sre.AT_BOUNDARY else prefix}
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):  # zero-width: \b, (?<=\[)
            continue
        elif op is sre.SUBPATTERN:
            return _prefixes([*arg[-1], *items[i + 1 :]], sre)
        elif op is sre.BRANCH:
            found = [_prefixes([*branch, *items[i + 1 :]], sre) for branch in arg[1]]
            return set().union(*found) if all(found) else None
        else:
            return None
    return {prefix} if prefix else None


def _needed(items: list, sre, left: str = "", right: str = "") -> list[set[str]]:
    """Sets of literals (with _EDGE marks) such that every match of the parsed regex ``items``
    contains a member of each set. ``left``/``right``: a mark for a word edge just outside."""
    options: list[set[str]] = []
    run = left
    for i, (op, arg) in enumerate(items):
        if op is sre.LITERAL:
            run += chr(arg)
            continue
        if op is sre.AT and arg is sre.AT_BOUNDARY:
            run += _EDGE
            continue
        edge_before = _EDGE if run and run[-1] not in _WORD_CHARS else ""
        options.append({run})
        run = ""
        after = items[i + 1] if i + 1 < len(items) else (None, None)
        edge_after = (
            _EDGE
            if (after[0] is sre.AT and after[1] is sre.AT_BOUNDARY)
            or (after[0] is sre.LITERAL and chr(after[1]) not in _WORD_CHARS)
            else right * (i + 1 == len(items))
        )
        if op is sre.SUBPATTERN:
            options += _needed(list(arg[-1]), sre, edge_before, edge_after)
        elif op is sre.BRANCH:
            branches = [_needed(list(branch), sre, edge_before, edge_after) for branch in arg[1]]
            if all(branches):  # one literal per branch; the branch's best one will do
                options.append(set().union(*(_best_needles(b) for b in branches)))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and arg[0] >= 1:
            options += _needed(list(arg[2]), sre)
    options.append({run + right} if run else set())
    return [option for option in options if option and all(m.strip(_EDGE) for m in option)]


def _best_needles(options: list[set[str]]) -> set[str]:
    return max(options, key=lambda option: min(len(m.strip(_EDGE)) for m in option))


def _word_key(literal: str, skip: frozenset[bytes]) -> tuple[str, bytes] | None:
    """A word condition implied by a literal with _EDGE marks: an edged whole word, else an
    edged word start of at least _HEAD letters; ignoring words whose head is in ``skip``."""
    keys = []
    for match in _WORDS_IN.finditer(literal):
        word, starts, ends = match.group().encode(), match.start() > 0, match.end() < len(literal)
        if word[:_HEAD] in skip or not starts:
            continue
        if ends:
            keys.append((1, len(word), "words", word))
        elif len(word) >= _HEAD:
            keys.append((0, len(word), "heads", word[:_HEAD]))
    return max(keys)[2:] if keys else None


def _word_condition(
    literals: set[str], skip: _WordCondition | None = None
) -> _WordCondition | None:
    """The word condition implied by "one of these literals occurs", or None. With ``skip``
    (the first-word condition), one about other words than the first."""
    heads = frozenset({w[:_HEAD] for w in skip.words} | skip.heads) if skip else frozenset()
    keys = [_word_key(literal, heads) for literal in literals]
    if not keys or not all(keys):
        return None
    return _WordCondition(
        frozenset(key for kind, key in keys if kind == "words"),
        frozenset(key for kind, key in keys if kind == "heads"),
    )


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
    first = _word_condition({_EDGE + prefix for prefix in prefixes}) if prefixes else None
    conditions = [(c, o) for o in options if (c := _word_condition(o, skip=first))]
    if conditions:  # prefer a needed whole word, then the longest
        needed = max(conditions, key=lambda co: (bool(co[0].words), min(map(len, co[1]))))[0]
        return first, needed, ()
    needles = _best_needles(options) if options else set()
    return first, None, tuple(sorted(m.replace(_EDGE, "") for m in needles))


def _index():
    """Compile RULES into (alternatives, key -> bitmask, bits always set, width, status rows).

    A bitmask has two fields of ``width`` bits, one bit per alternative: the high field says
    the needed-word condition holds, the low field that the first-word condition holds.
    Whole words and 3-letter heads share one table: a reply contributes both its words and
    its words' heads, so a short key can be satisfied by a longer word with that head. That
    only adds candidates, never hides one."""
    sources = [[*_split_alternatives(r.reason)] if r.reason else [None] for r in RULES]
    width = sum(map(len, sources))
    alternatives: list[_Alternative] = []
    keys: dict[bytes, int] = {}
    unindexed = 0
    status_only: list[int] = []
    for row, (rule, row_sources) in enumerate(zip(RULES, sources, strict=True)):
        status = re.compile(rule.status) if rule.status else None
        if not rule.reason and not status:
            raise ValueError(f"RULES[{row}] has neither a reason nor a status pattern")
        if rule.reason and status_only:
            raise ValueError(f"RULES[{row}] reads the reply but follows a status-only row")
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
                for key in condition.words | condition.heads if condition else ():
                    keys[key] = keys.get(key, 0) | bit << shift
            alternatives.append(_Alternative(row, needles, re.compile(source), status))
    return tuple(alternatives), keys, unindexed, width, tuple(status_only)


_ALTERNATIVES, _KEYS, _UNINDEXED, _WIDTH, _STATUS_ONLY = _index()
_OUTCOMES = tuple((RULES[a.row].classification, RULES[a.row].fault) for a in _ALTERNATIVES)
_OR = operator.or_


def _candidates(text: str) -> int:
    """Bitmask over _ALTERNATIVES of the reason alternatives that may match ``text``."""
    words = text.encode("ascii", "replace").translate(_NOT_WORD_TO_SPACE).split()
    found = _KEYS.keys() & words
    found.update(_KEYS.keys() & map(_FIRST_LETTERS, words))
    bits = functools.reduce(_OR, map(_KEYS.get, found), _UNINDEXED)
    return bits & (bits >> _WIDTH)  # first-word condition and needed-word condition


def _decide(status: object, text: str) -> tuple[str, str]:
    """The outcome of the first alternative (in table order) that matches; see "engine"."""
    mask = _candidates(text) if text else 0
    while mask:
        lowest = mask & -mask
        mask ^= lowest
        index = lowest.bit_length() - 1
        _, needles, reason, status_regex = _ALTERNATIVES[index]
        for needle in needles:
            if needle in text:
                break
        else:
            if needles:
                continue
        if status_regex is not None and not status_regex.fullmatch(_effective_status(status, text)):
            continue
        match = reason.search(text)
        while match is not None:  # a match must start at the start of a word
            start = match.start()
            if not start or text[start - 1] not in _WORD_CHARS:
                return _OUTCOMES[index]
            match = reason.search(text, start + 1)
    code = _effective_status(status, text) if _STATUS_ONLY else ""
    for index in _STATUS_ONLY:
        if _ALTERNATIVES[index].status.fullmatch(code):
            return _OUTCOMES[index]
    return _UNCLASSIFIED


# ------------------------------------------------------------------- normalisation
_ENHANCED = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
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


def _normalise_reason(reason: object) -> str:
    # Lower-case, whitespace runs (including line breaks) collapsed to one space. Other control
    # characters are left alone: they cannot make a rule match, and cannot make one raise.
    return " ".join(_as_text(reason).lower().split())


def _effective_status(status: object, text: str) -> str:
    """The most specific code available: see the module docstring."""
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


# ----------------------------------------------------------------------- public API
def classify(status: str | None, reason: str | None) -> tuple[str, str]:
    """Return ``(classification, fault)`` for one bounce: the first matching row of RULES,
    else Unclassified / unknown. Never raises."""
    if type(reason) is str:  # the hot path: skip _as_text's checks
        return _decide(status, " ".join(reason[:MAX_REASON_CHARS].lower().split()))
    return _decide(status, _normalise_reason(reason))


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
