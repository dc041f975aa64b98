r"""The rules that classify a bounce: SendGrid's seven classifications, whose fault it is, and
one ordered table of rows mapping a bounce's reply text and status onto them. This module is
data: edit it to change how bounces are classified; nothing else needs to change.

SendGrid's list API returns only the status (an enhanced code such as ``5.1.1``, sometimes a
plain ``550``, sometimes nothing) and the remote server's reply text; the rows read those two.

A row
-----
``Rule(reason, status, classification, fault)``; at least one of the two patterns is set:

* ``reason``: a regex searched in the normalised reply: its first 2,000 characters
  (``reply.MAX_REASON_CHARS``), lower-cased, with each run of whitespace collapsed to one
  space. Write it in lower case with single spaces. It matches WHOLE WORDS (words being runs
  of ``[a-z0-9]``): a match may neither start nor end inside a word. "spamhaus" matches
  "zen.spamhaus.org" and "Spamhaus's", but not "nospamhaus" or "spamhausx"; write
  "throttle|throttled|throttling" or "throttl\w*" for word forms, "(?<=\[)bl21\]" for
  "[BL21]". For speed, begin each top-level alternative with a literal word and let no letter
  follow it ("mailbox|mail box", not "mail ?box"); tests/bounces/test_classification.py checks that.
* ``status``: a regex that must match the whole *effective status*: the given status when it
  is a specific enhanced code; otherwise the first enhanced code found in the reply (``550
  5.1.1 ...``); otherwise a generic status (``5.0.0``, ``550``); otherwise the 3-digit code
  that starts the reply.
* ``classification`` and ``fault``: what the row yields, values of :class:`Classification`
  and :class:`Fault`.

How the table is read
---------------------
* The FIRST row (in table order) that matches wins; a row with both patterns needs both to
  match.
* Text first, status second: all rows that look at the reply come before the status-only
  rows at the end, so a reply that says "user unknown" is Invalid Address even if its status
  is ``5.7.1``.
* When nothing matches: Unclassified, fault unknown. We would rather say "don't know" than
  guess. Unclassified always has fault ``unknown``.

``reference.py`` is this reading written as a plain loop; ``matcher.py`` gives the same answers
fast, compiled from this table on first use.

Adding a rule
-------------
Insert a row where its priority belongs (every row above it wins over it) and add a labelled
example to ``tests/data/bounce-reasons-extra.tsv``; the tests run every labelled row, and hold
the matcher equal to the reference reading on them. The matcher needs no change: it is built
from whatever rows this table has.

Fault
-----
``recipient``: the address itself is bad or unusable (Invalid Address, Mailbox Unavailable).
``sender``: the sender's reputation, content, volume or own configuration caused it (Reputation,
Content, Frequency, and the sender-side Technical Failures: authentication and message size).
``unknown``: infrastructure, or unclear.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import models


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

#: The outcome when no row matches.
UNCLASSIFIED = (_UNC, _UNK)
