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
  lower case with single spaces. They match WHOLE WORDS (words being runs of ``[a-z0-9]``):
  a match may neither start nor end inside a word. "spamhaus" matches "zen.spamhaus.org"
  and "Spamhaus's", but not "nospamhaus" or "spamhausx"; write "throttle|throttled|throttling"
  or "throttl\w*" for word forms, "(?<=\[)bl21\]" for "[BL21]". For speed, begin each
  top-level alternative with a literal word and let no letter follow it ("mailbox|mail box",
  not "mail ?box"); tests/test_classification.py checks that.
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
from collections.abc import Sequence
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
    # Yahoo's "552 1 Requested mail action aborted, mailbox not found or over quota" names two
    # causes; only its status tells them apart, so this row reads both. With another status
    # it falls through to "mailbox not found" (Invalid Address) below.
    Rule(r"mailbox not found or over quota", r"[45]\.2\.\d{1,3}", _MU, _RCPT),

    # ---------------------------------------------------------------- Invalid Address
    # The mailbox does not exist, or the address is malformed. Checked first: these phrases
    # are unambiguous and often sit inside otherwise misleading replies ("mailbox unavailable
    # (user does not exist)", status 5.7.1 with "User unknown").
    Rule(r"user unknown|unknown (?:or illegal )?(?:local )?(?:user|recipient|mailbox|address"
         r"|addressee)|(?:recipient|addressee|mailbox) unknown|no such (?:local )?(?:user"
         r"|mailbox|recipient|address|account|person)|is not a known user",
         None, _IA, _RCPT),
    Rule(r"(?:user|mailbox|recipient|address|account|addressee)\b[^.;]{0,40}?"
         r"(?:does not|doesn't|did not|no longer) (?:exist|exists)"
         r"|doesn't have an? [\w.-]+ account",                             # Yahoo "dd"
         None, _IA, _RCPT),
    Rule(r"recipnotfound|recipientnotfound|exrecipnotfound"              # Exchange RESOLVER
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
    Rule(r"invalid (?:recipient|mailbox|user|address|e-?mail address|destination address"
         r"|rcpt)(?:e?s)?"
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
    Rule(r"(?:sending|outbound|outgoing) (?:quota|limit|rate)s?"
         r"|(?:daily|hourly) (?:user )?(?:message )?(?:quota|limit) (?:exceeded|reached)",
         None, _FRQ, _SNDR),

    # ------------------------------------------------------------ Mailbox Unavailable
    # Full mailbox / over quota.
    Rule(r"(?:mailbox|mail box|inbox|maildir|mail folder)(?: is| was)? full|overquota"
         r"|over quota|quota exceeded|quotaexceeded|quotaexceededexception"
         r"|over (?:its |the |his |her |their )?(?:storage|disk|space|mailbox|size) "
         r"(?:quota|limit)"
         r"|exceeded (?:its |the |his |her |their |your )?(?:storage|disk|mailbox|quota)"
         r"|mailbox size limit|mailbox (?:quota|storage)|storage (?:quota|limit)"
         r"|disk (?:space )?quota|diskspace quota|overdrawn|out of (?:storage|disk) space"
         r"|insufficient (?:user |mailbox )?(?:storage|disk space|space) (?:for|in|on) "
         r"(?:the )?(?:user|recipient|mailbox)",
         None, _MU, _RCPT),
    # Disabled, suspended, inactive mailboxes and accounts.
    Rule(r"(?:mailbox|mail box|account|user|recipient|inbox)\b[^.;]{0,30}?"
         r"(?:is |has been |was )?"
         r"\b(?:disabled|suspended|deactivated|inactive|frozen|expired|terminated|closed|locked)"
         r"|(?:disabled|suspended|deactivated|inactive|dormant|expired|closed|locked) "
         r"(?:mailbox|mail box|account|user|recipient|inbox)",
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
    Rule(r"dmarc|spf|sender policy framework|dkim|domainkeys"
         r"|unauthenticated (?:e-?mail|mail|message|sender)s?|sender is unauthenticated"
         r"|(?:fail|fails|failed) to pass authentication|ptr|reverse (?:dns|hostname|lookup)"
         r"|rdns|cannot find your (?:reverse )?hostname",
         None, _TF, _SNDR),

    # ---------------------------------------- Technical Failure (unknown): relay denials
    # "Relay access denied" / "not permitted to relay": usually a stale MX, a domain no longer
    # hosted there, or a misrouted message. Labelled Technical Failure / unknown in the
    # reference data even with status 5.7.1. Before Reputation ("Access denied").
    Rule(r"(?:relay|relaying) (?:access )?(?:denied|not permitted|prohibited|not allowed"
         r"|refused)"
         r"|(?:not permitted|not allowed|not authori[sz]ed|unable|cannot|can't) (?:to )?relay"
         r"|we do not relay|no relaying|rcpthosts|non-accepted domain",
         None, _TF, _UNK),

    # ------------------------------------------------------ Content: links in the body
    # Before Reputation: "URL in message body is blacklisted" / "URL listed in SURBL" is about
    # the message's links (labelled Content), not the sending IP.
    Rule(r"(?:url|urls|uri|uris|link|links|hyperlink|hyperlinks)\b[^.;]{0,40}?"
         r"(?:black|block|deny)[- ]?list(?:ed|s)?"
         r"|(?:url|urls|uri|uris|link|links|hyperlink|hyperlinks) (?:in|within|found in"
         r"|contained in) (?:the )?(?:message|body|e-?mail|content)"
         r"|(?:url|urls|uri|uris|link|links) (?:is |are |was )?(?:blacklisted|blocklisted"
         r"|blocked|listed)"
         r"|surbl|uribl|malicious (?:url|link)s?",
         None, _CON, _SNDR),

    # -------------------------------------------------------------------- Reputation
    # Blocklists (DNSBLs), banned or distrusted sending IPs/domains, provider block codes.
    # Reputation-driven rate limits ("temporarily rate limited due to IP reputation", Gmail's
    # "unusual rate of unsolicited mail originating from your IP") name reputation as the
    # cause, so they land here rather than in Frequency.
    Rule(r"spamhaus|spamcop|barracuda (?:reputation|central)|barracudacentral|sorbs"
         r"|uceprotect|spamrats|psbl|invaluement|mailspike|abuseat|cbl"
         r"|blocked using|(?:listed|listing) (?:in|on|at|by)"
         r"|blacklist|blacklisted|blacklists|blocklist|blocklisted|blocklists|denylist"
         r"|denylisted|(?:black|block|deny)[- ]list(?:ed|s)?"
         r"|rbl|dnsbl|banned (?:sending|sender|ip|host)|reputation|senderbase|sender base"
         r"|unsolicited mail originating|traffic not accepted|not accepted from this ip"
         r"|(?<=\[)(?:bl21|bl22|bl23|tss09|ts03)\]|permanently deferred"           # Yahoo
         r"|ipcheck\.proofpoint"
         r"|(?:your|sending|client|sender) (?:ip|host|mta|server)(?: address)?\b[^.;]{0,40}?"
         r"\b(?:blocked|banned|blacklisted|blocklisted|listed)"
         r"|dynamic (?:ip|address|pool)|dialup|dial-up",
         None, _REP, _SNDR),

    # ------------------------------------------------ Technical Failure (sender): size
    # Message too large (5.3.4, 5.2.3). Honestly ambiguous: not Content (SendGrid's Content is
    # "judged spam, or its links or attachments were refused") and not Mailbox Unavailable;
    # a size limit is a server configuration limit, so Technical Failure. Fault sender: the
    # address is fine, the sender must send a smaller message. Before Content ("attachment").
    Rule(r"(?:message|mail|email|e-mail)(?: size| length)?(?: is| was)? too (?:large|big|long)"
         r"|(?:message|mail|data|email|e-mail) (?:size|length) (?:exceeds|exceeded|limits?"
         r"|is over)"
         r"|exceeded [^.;]{0,30}?(?:message|mail) size|recipsizelimit|sendsizelimit|sizelimit"
         r"|size limits?|too large"
         r"|exceeds (?:the )?(?:maximum|fixed|allowed|max)\b[^.;]{0,20}?size",
         None, _TF, _SNDR),

    # ----------------------------------------------------------------------- Content
    Rule(r"spam|spamassassin|junk|(?:unsolicited|bulk) (?:mail|e-?mail|message|content)s?"
         r"|(?:likely|suspected|classified as|considered|identified as|detected as|flagged as"
         r"|looks like|appears to be) (?:unsolicited|bulk|spam|junk)"
         r"|virus|viruses|malware|trojan|worm|infected|eicar|attachment|attachments"
         r"|(?:file|extension) types?|content (?:filter|filters|filtering|rejected|policy"
         r"|scan|scanning|not accepted)"
         r"|message content|scam|fraud|fraudulent|phish|phishing|bsf:|(?<=\[)ph01\]"
         r"|security issues?"
         r"|(?:prohibited|illegal|suspicious|malicious|dangerous|forbidden|banned) "
         r"(?:content|file|files|attachment|attachments|extension|extensions)"
         r"|spam score|probability of spam",
         None, _CON, _SNDR),

    # ------------------------------------------------- Frequency or Volume Too High
    # Includes Yahoo [TSS04] "temporarily deferred due to unexpected volume or user complaints"
    # (a temporary throttle; its first-named cause is volume) and Microsoft's S77714 "Server
    # busy. Please try again later from [IP]" throttle. "Too many recipients" (4.5.3) is a
    # per-message volume limit, so it is here too.
    Rule(r"too many (?:[\w-]+ ){0,3}?(?:connections|sessions|messages|mails|e-?mails"
         r"|recipients|rcpts?|requests|connection attempts|deliveries)"
         r"|rate[- ]limit(?:ed|s|ing)?|ratelimit|ratelimited|ratelimiting"
         r"|rate[- ]control(?:led)?|(?:rate|frequency) (?:exceeded|too high)"
         r"|throttle|throttled|throttling"
         r"|(?:unexpected|unusual|excessive|high|abnormal) (?:mail |message |e-?mail )?"
         r"(?:volume|traffic)|volume (?:too high|limit|exceeded)|(?<=\[)tss04\]|(?<=\[)ts04\]"
         r"|s77714|mail flood(?:ing)?|too fast|too frequent(?:ly)?"
         r"|(?:connection|message|delivery|concurrency) (?:limit|rate) (?:exceeded|reached)",
         None, _FRQ, _SNDR),

    # ---------------------------------------------------- Technical Failure: DNS
    # Includes typo domains ("Unable to resolve MX host example.ne" is labelled Technical
    # Failure / unknown in the reference data): a lookup failure is not proof the address is
    # bad, so we do not call it Invalid Address.
    Rule(r"(?:unable|failed|could not|couldn't|cannot|can't) (?:to )?(?:resolve|look ?up|find)"
         r"\b[^.;]{0,30}?\b(?:mx|host|domain|dns|a record|aaaa)"
         r"|host or domain name not found|name service error|(?:host|domain) (?:name )?not found"
         r"|mx not found"
         r"|no mx|mx (?:record )?(?:lookup|not found|missing|error)"
         r"|dns\b[^.;]{0,20}?(?:error|failure|failed|lookup|query|timeout|problem|resolution)"
         r"|servfail|nxdomain|no such (?:host|domain)|domain (?:name )?(?:does not|doesn't) exist"
         r"|unknown (?:host|domain)|(?:nonexistent|non-existent) (?:domain|host)"
         r"|(?:unroutable|unrouteable) domain|bad destination (?:host|system)",
         None, _TF, _UNK),
    # Connections, timeouts, TLS, loops, expiry.
    Rule(r"connection (?:refused|timed out|timeout|reset|dropped|closed by|lost|failed|error)"
         r"|timed out|timeout|(?:could not|couldn't|unable to|failed to|cannot|can't) "
         r"(?:connect|establish)|lost connection|no (?:answer|response) from"
         r"|(?:network|host) (?:is )?unreachable|no route to host|broken pipe"
         r"|socket error|socketerror"
         r"|tls|ssl|starttls|encryption (?:is )?(?:required|needed)|certificate|certificates"
         r"|handshake"
         r"|(?:mail|smtp|routing) loop|(?:loop|loops) (?:back|detected)|hop count|too many hops"
         r"|delivery time expired|(?:message|delivery) (?:expired|delayed)"
         r"|retry (?:timeout|time) exceeded|(?:too long|expired) in (?:the )?queue",
         None, _TF, _UNK),
    # Server-side faults, configuration, protocol.
    Rule(r"insufficient system storage|not accepting network messages"
         r"|local (?:error|problem) in processing"
         r"|(?:temporary|internal) (?:local |server |system )?(?:failure|error|problem)"
         r"|configuration (?:problem|error)|misconfigured|misconfiguration|syntax error"
         r"|command (?:not recognized|unrecognized|not implemented)|unrecognized command"
         r"|protocol (?:error|violation)|bad sequence of commands|pipelining"
         r"|authentication required|not authenticated|helo|ehlo",
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
# Semantics: the first row in table order whose regexes match wins, where a reason regex
# matches whole words (see the module docstring). The tests compare the engine with exactly
# that, written as a plain ten-line loop over RULES (reference_classify).
#
# Speed: that plain loop tries ~20 big alternations on every reply, ~0.5 ms each; a million
# rows would take minutes. So the table is indexed once, on first use. Top-level alternatives
# (with a leading "(?:a|b)" distributed) are compiled one by one, and for each we derive from
# re's parse tree two conditions on the words of a reply (words = runs of [a-z0-9]):
#   * its first word: "user unknown" needs the word "user";
#   * another word it cannot match without: "unknown"; "disabled" or "suspended" or ...
# Per reply we split it into words once (bytes.translate + split, in C), OR together the
# bitmasks of the alternatives those words enable, keep those passing both conditions, and
# run only their regexes, lowest bit (= table order) first: usually one to three. Where a
# condition cannot be derived it is not applied (a needed string that is not a whole word is
# tested as a substring instead; a first word that may run on, as in "throttl\w*", is
# indexed by its first three letters): still correct, only slower.

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
    """A rules table compiled for speed: ``Matcher(table).classify(status, reason)`` is the
    first matching row of ``table`` (see "engine" above). A mask has two fields of ``width``
    bits, one bit per alternative: the low field says its first-word condition holds, the high
    field its needed-word condition. Whole words and 3-letter heads share ``keys``: a reply
    offers its words and (only if some head is in use) their heads, so a 3-letter key may also
    be met by a longer word with that head. That only adds candidates, never hides one."""

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
            text = _normalise_reason(reason)
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
                _effective_status(status, text)
            ):
                continue
            match = reason_regex.search(text)
            while match is not None:  # a match must also start at the start of a word
                start = match.start()
                if not start or text[start - 1] not in _WORD_CHARS:
                    return self.outcomes[index]
                match = reason_regex.search(text, start + 1)
        code = _effective_status(status, text) if self.status_only else ""
        for index in self.status_only:
            if self.alternatives[index].status.fullmatch(code):
                return self.outcomes[index]
        return _UNCLASSIFIED

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
def _engine() -> Matcher:
    """The matcher of RULES, compiled on first use (about 0.1 s), not at import."""
    return Matcher(RULES)


# ------------------------------------------------------------------- normalisation
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
    else Unclassified / unknown. Never raises, whatever the input (only a malformed RULES
    table raises, on first use)."""
    return _engine().classify(status, reason)


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
