"""Deterministic, realistic demo data for the sandbox.

Same seed, same `now` -> the same subusers and bounces (only `created` moves with `now`, as an
offset back from it). Reasons imitate what real receiving servers answer (Gmail, Microsoft,
Yahoo, Postfix, qmail, Exim, Spamhaus listings...) because the dashboard classifies them by text;
two hostile rows (HTML/script, a 3,000-character reply) keep the UI's escaping and truncation
honest.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from bounceadmin.sandbox.store import SandboxStore

T = TypeVar("T")

# (username, contact email, disabled upstream, region, bounce count)
SUBUSERS: list[tuple[str, str, bool, str, int]] = [
    ("acme-transactional", "postmaster@acme-corp.example", False, "global", 1700),
    ("acme-marketing", "marketing-ops@acme-corp.example", False, "global", 2200),
    ("globex-newsletters", "newsletters@globex.example", False, "eu", 1250),
    ("initech-billing", "billing-it@initech.example", False, "global", 1000),
    ("umbrella-alerts", "noc@umbrella.example", True, "global", 1000),
]
DAYS = 180


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara "
    "richard susan joseph jessica thomas sarah charles karen daniel nancy matthew lisa anthony "
    "betty mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle "
    "kevin carol brian amanda george melissa timothy deborah ronald stephanie jason rebecca "
    "lukas sophie mateo chloe hiroshi yuki priya arjun fatima omar olga ivan lea jonas "
    "noah emma liam olivia sven ingrid pierre camille giulia marco ana joao wei mei"
)
LAST = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white "
    "harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres "
    "nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts "
    "mueller schmidt schneider fischer weber dubois lefevre rossi russo tanaka suzuki sato "
    "kowalski nowak novak horvat jensen hansen larsen silva santos costa kim park chen wang"
)
ROLES = _words("info sales billing support admin contact hello office accounts marketing hr")
CONSUMER = [
    ("gmail.com", 30), ("yahoo.com", 10), ("outlook.com", 8), ("hotmail.com", 8),
    ("icloud.com", 5), ("aol.com", 3), ("comcast.net", 2), ("gmx.de", 2), ("web.de", 2),
    ("orange.fr", 2), ("yahoo.co.uk", 2), ("btinternet.com", 1), ("proton.me", 1),
    ("live.com", 2), ("msn.com", 1), ("mail.com", 1), ("att.net", 1), ("libero.it", 1),
]  # fmt: skip
CORPORATE = [
    "northwind-traders.com", "contoso.com", "fabrikam.com", "wideworldimporters.com",
    "tailspintoys.com", "adventure-works.com", "litware.com", "proseware.com", "vandelay.com",
    "dundermifflin.com", "hooli.com", "piedpiper.com", "cyberdyne.io", "soylent.co",
    "wonka-industries.com", "blue-sun.net", "tyrell-corp.com", "massive-dynamic.com",
]  # fmt: skip
# Typos and dead domains: the usual source of DNS-failure bounces.
DEAD = [
    "gmial.com", "gmail.co", "yaho.com", "hotmial.com", "outlok.com", "gnail.com",
    "example-old.com", "acme-legacy.net", "icloud.con", "comcast.ne",
]  # fmt: skip
MS = ("outlook.com", "hotmail.com", "live.com", "msn.com")
IP = ("198.51.100.7", "203.0.113.25", "192.0.2.44", "198.51.100.131")


class FastRandom(random.Random):
    """random.Random whose choice() and randint() cost one random() call each.

    The stock versions go through the pure-Python _randbelow and dominate the time it takes to
    generate a 1,000,000-row benchmark list. Still fully deterministic for a given seed.
    """

    def choice(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


# Reply templates per category: (status, text, who answers). `who` keeps replies plausible for
# the domain: Gmail wording only for gmail.com, relay denials and DNS failures only from
# self-hosted corporate servers, "*" from anyone. {email}, {domain}, {ip} and {tag} are filled in.
Template = tuple[str, str, str]
# fmt: off
INVALID_USER: list[Template] = [
    ("5.1.1", "550 5.1.1 The email account that you tried to reach does not exist. Please try "
              "double-checking the recipient's email address for typos or unnecessary spaces. "
              "Learn more at https://support.google.com/mail/answer/6596 {tag} - gsmtp", "gmail"),
    ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {email} not found by SMTP "
               "address lookup", "ms"),
    ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipNotFound; not found", "ms"),
    ("5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable (RESOLVER.ADR."
              "RecipNotFound; not found)", "ms"),
    ("5.1.1", "554 delivery error: dd This user doesn't have a {domain} account ({email}) [0] - "
              "mta1234.mail.gq1.yahoo.com", "yahoo"),
    ("5.1.1", "550 5.1.1 <{email}>: Recipient address rejected: User unknown in local recipient "
              "table", "corp"),
    ("5.1.1", "511 sorry, no mailbox here by that name (#5.1.1 - chkuser)", "corp"),
    ("5.1.1", "550 5.1.1 <{email}>: Recipient address rejected: User unknown in virtual alias "
              "table", "corp"),
    ("5.1.1", "550 5.1.1 {email}... User unknown", "corp"),
    ("5.0.0", "550 Requested action not taken: mailbox unavailable (user does not exist)", "other"),
    ("5.1.1", "550 5.1.1 unknown or illegal user: {email}", "other"),
    ("5.1.1", "550 5.1.1 <{email}>: Recipient address rejected: Access denied. AS(201806281) "
              "[{tag}]", "ms"),
    ("5.1.1", "550 5.1.1 Benutzer unbekannt / user unknown", "other"),
    ("5.0.0", "550 Адресат не найден (recipient not found)", "other"),
]
MAILBOX_FULL: list[Template] = [
    ("4.2.2", "452 4.2.2 The email account that you tried to reach is over quota. Please direct "
              "the recipient to https://support.google.com/mail/?p=OverQuotaTemp {tag} - gsmtp",
              "gmail"),
    ("5.2.2", "552 5.2.2 Recipient's mailbox is over its storage limit", "*"),
    ("5.2.2", "552 5.2.2 <{email}>: Mailbox full: quota exceeded", "corp"),
    ("4.2.2", "452 4.2.2 Mailbox full, try again later", "*"),
    ("5.2.2", "552 1 Requested mail action aborted, mailbox not found or over quota", "yahoo"),
]
DISABLED: list[Template] = [
    ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled. Learn more at "
              "https://support.google.com/mail/?p=DisabledUser {tag} - gsmtp", "gmail"),
    ("5.2.1", "550 5.2.1 Mailbox disabled, not accepting messages", "*"),
    ("5.2.1", "550 5.2.1 This account has been suspended", "*"),
    ("5.2.1", "554 30 Sorry, your message to {email} cannot be delivered. This mailbox is "
              "disabled (554.30).", "yahoo"),
]
DNS: list[Template] = [
    ("5.1.2", "Unable to resolve MX host {domain}", "*"),
    ("5.1.2", "550 5.1.2 {email}: bad destination system address", "*"),
    ("5.1.2", "550 5.1.2 Host unknown (Name server: {domain}: host not found)", "*"),
    ("5.4.4", "554 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain {domain}", "*"),
    ("4.4.4", "451 4.4.4 Mail received as unauthenticated, DNS lookup failed for {domain}", "*"),
]
RELAY: list[Template] = [
    ("5.7.1", "550 5.7.1 Unable to relay", "corp"),
    ("5.7.1", "554 5.7.1 <{email}>: Relay access denied", "corp"),
    ("5.7.1", "550 5.7.1 Relaying denied. {domain} is not permitted to relay through this "
              "server.", "corp"),
    ("5.7.1", "550 5.7.64 TenantAttribution; Relay Access Denied [{ip}]", "corp"),
]
SPAM_BLOCK: list[Template] = [
    ("5.7.1", "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
              "https://www.spamhaus.org/query/ip/{ip}", "corp"),
    ("5.7.1", "550 5.7.1 Mail from IP {ip} was rejected due to listing in Spamcop", "other"),
    ("5.7.1", "550 5.7.606 Access denied, banned sending IP [{ip}]. To request removal from this "
              "list please visit https://sender.office.com/ and follow the directions.", "ms"),
    ("5.7.1", "553 5.7.1 [BL21] Connections will not be accepted from {ip}, because the ip is in "
              "Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html", "yahoo"),
    ("5.7.1", "550 5.7.1 Our system has detected that this message is likely unsolicited mail. "
              "To reduce the amount of spam sent to Gmail, this message has been blocked. {tag} "
              "- gsmtp", "gmail"),
]
POLICY: list[Template] = [
    ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", "corp"),
    ("5.7.1", "554 5.7.1 The message was rejected because it contains prohibited virus or spam "
              "content", "*"),
    ("5.7.1", "550 5.7.1 Message rejected: URL in message body is blacklisted", "other"),
    ("5.7.26", "550 5.7.26 This mail has been blocked because the sender is unauthenticated. "
               "Gmail requires all senders to authenticate with either SPF or DKIM. {tag} - gsmtp",
               "gmail"),
    ("5.7.1", "550 5.7.1 Delivery not authorized, message refused: policy violation (DMARC)", "*"),
    ("5.3.4", "552 5.3.4 Message size exceeds fixed maximum message size", "*"),
]
THROTTLED: list[Template] = [
    ("4.7.0", "421 4.7.0 Try again later, closing connection. (Too many concurrent connections)",
              "*"),
    ("4.7.0", "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume "
              "or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
              "yahoo"),
    ("4.2.1", "450 4.2.1 The user you are trying to contact is receiving mail at a rate that "
              "prevents additional messages from being delivered. {tag} - gsmtp", "gmail"),
    ("4.7.1", "451 4.7.1 Rate limited: too many messages from this sender", "corp"),
    ("4.7.0", "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77714) [{tag}]",
              "ms"),
]
TLS: list[Template] = [
    ("4.7.5", "TLS handshake failed: certificate verify failed (unable to get local issuer "
              "certificate)", "corp"),
    ("5.7.10", "530 5.7.10 Encryption required for requested authentication mechanism", "corp"),
    ("4.7.5", "451 4.7.5 STARTTLS failed for {domain}: no shared cipher", "corp"),
    ("5.7.0", "530 5.7.0 Must issue a STARTTLS command first", "corp"),
]
OTHER: list[Template] = [
    ("4.4.7", "4.4.7 Delivery time expired", "*"),
    ("4.0.0", "Connection refused", "corp"),
    ("4.3.5", "451 4.3.5 Server configuration problem", "corp"),
    ("5.0.0", "550 Message rejected", "*"),
]
# Weights roughly follow what a real SendGrid bounce list holds: mostly dead addresses.
CATEGORIES: list[tuple[list[Template], int]] = [
    (INVALID_USER, 52), (MAILBOX_FULL, 10), (DISABLED, 7), (DNS, 8), (RELAY, 3),
    (SPAM_BLOCK, 7), (POLICY, 4), (THROTTLED, 4), (TLS, 2), (OTHER, 3),
]
# fmt: on


def _who(domain: str) -> str:
    if domain == "gmail.com":
        return "gmail"
    if domain in MS:
        return "ms"
    if domain.startswith("yahoo") or domain == "aol.com":
        return "yahoo"
    return "corp" if domain in CORPORATE else "other"


def _fits(who: str, template: Template) -> bool:
    # "other" (smaller ISPs) may answer like a corporate Postfix/qmail box, but not vice versa.
    return template[2] in ("*", who) or (who == "other" and template[2] == "corp")


_TABLES = [t for t, _ in CATEGORIES]
_TABLE_WEIGHTS = list(itertools.accumulate(w for _, w in CATEGORIES))
_OPTIONS: dict[tuple[int, str], list[Template]] = {}  # (table, who) -> fitting templates


def _options(table: list[Template], who: str) -> list[Template]:
    key = (id(table), who)
    if key not in _OPTIONS:
        fitting = [t for t in table if _fits(who, t)]
        _OPTIONS[key] = fitting or [t for t in INVALID_USER if _fits(who, t)]
    return _OPTIONS[key]


def _reason(rng: random.Random, email: str, domain: str, dead: bool) -> tuple[str, str]:
    who = _who(domain)
    table = DNS
    if not dead:
        table = rng.choices(_TABLES, cum_weights=_TABLE_WEIGHTS)[0]
        if table is DNS and who != "corp":
            table = INVALID_USER  # big providers' DNS does not fail; their users do vanish
    status, template, _ = rng.choice(_options(table, who))
    if "{" not in template:
        return status, template
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    tag = f"{letter}{rng.randint(10, 99)}si{rng.randint(1000000, 9999999)}.{rng.randint(1, 99)}"
    return status, template.format(email=email, domain=domain, ip=rng.choice(IP), tag=tag)


SCRIPT_REASON = (
    '550 5.7.1 <script>alert(1)</script> rejected: <b onmouseover="alert(2)">'
    "see <a href='javascript:alert(3)'>policy</a></b> &amp; &lt;more&gt;"
)


def _long_reason(rng: random.Random) -> str:
    head = "554 5.7.1 Message rejected under policy. Diagnostic transcript follows: "
    words = _words("relay policy header dkim spf dmarc arc trace hop queue retry mx tls")
    parts: list[str] = []
    while len(head) + sum(len(p) + 1 for p in parts) < 3000:
        parts.append(f"{rng.choice(words)}={rng.randint(0, 99999)}")
    return (head + " ".join(parts))[:3000]


def _local_part(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    style = rng.randint(0, 9)
    if style < 3:
        return f"{first}.{last}"
    if style == 3:
        return f"{first[0]}{last}"
    if style == 4:
        return f"{first}_{last}"
    if style == 5:
        return f"{first}{rng.randint(1, 2005)}"
    if style == 6:
        return f"{first}.{last}+{rng.choice(['news', 'shop', 'promo', 'invoices', 'sg'])}"
    if style == 7:
        return rng.choice(ROLES)
    if style == 8:
        return f"{last}.{first}{rng.randint(10, 99)}"
    return f"{first}-{last}"


def _address(rng: random.Random, consumer: list[str], weights: list[int]) -> tuple[str, str, bool]:
    roll = rng.random()
    if roll < 0.07:
        domain, dead = rng.choice(DEAD), True
    elif roll < 0.30:
        domain, dead = rng.choice(CORPORATE), False
    else:
        domain, dead = rng.choices(consumer, cum_weights=weights)[0], False
    local = _local_part(rng)
    if local in ROLES and domain not in CORPORATE:
        local = f"{local}{rng.randint(1, 999)}"
    return local, domain, dead


def generate_addresses(rng: random.Random, count: int) -> Iterator[tuple[str, str, bool]]:
    """`count` distinct realistic addresses: (address, domain, whether the domain is dead).

    Fast enough for benchmark lists (1,000,000 in seconds): a repeated address gets a number
    appended instead of being redrawn, which would crawl once the name space fills up.
    """
    consumer = [d for d, _ in CONSUMER]
    weights = list(itertools.accumulate(w for _, w in CONSUMER))
    seen: dict[str, int] = {}  # address -> last number appended to make a repeat unique
    for _ in range(count):
        local, domain, dead = _address(rng, consumer, weights)
        base = email = f"{local}@{domain}"
        while email in seen:
            seen[base] += 1
            email = f"{local}{seen[base]}@{domain}"
        seen[email] = 1
        yield email, domain, dead


def created_before(rng: random.Random, now: float, days: int = DAYS) -> int:
    # u**2.2 piles ages up near zero: recent days hold most entries, like a live account.
    return int(now) - int(days * 86400 * rng.random() ** 2.2)


def generate_bounces(
    rng: random.Random, count: int, *, now: float, days: int = DAYS
) -> Iterator[dict[str, Any]]:
    """`count` distinct realistic bounces, newest denser, created within `days` before `now`."""
    for email, domain, dead in generate_addresses(rng, count):
        status, reason = _reason(rng, email, domain, dead)
        created = created_before(rng, now, days)
        yield {"email": email, "status": status, "reason": reason, "created": created}


def demo_rows(seed: int = 1, *, now: float | None = None) -> dict[str, list[dict[str, Any]]]:
    """Bounces per demo subuser; deterministic for a given (seed, now)."""
    now = time.time() if now is None else now
    rng = FastRandom(seed)
    out: dict[str, list[dict[str, Any]]] = {}
    for username, _, _, _, count in SUBUSERS:
        out[username] = list(generate_bounces(rng, count, now=now))
    # Hostile rows, placed in the busiest lists so they show up on the first pages.
    out["acme-marketing"][0].update(status="5.7.1", reason=SCRIPT_REASON, created=int(now) - 3600)
    quirky = "o'brien+test@vandelay.com"  # apostrophe and plus: quoting and URL-escaping bait
    out["acme-marketing"][1].update(
        email=quirky,
        status="5.1.1",
        reason=f"550 5.1.1 <{quirky}>: Recipient address rejected: User unknown",
        created=int(now) - 7200,
    )
    out["acme-transactional"][0].update(
        status="5.7.1", reason=_long_reason(rng), created=int(now) - 5400
    )
    # An incident under way: in the last 40 minutes Outlook blocks initech-billing's sending IP,
    # which the dashboard's default alert rules see (a spike, a Reputation spike, a domain spike).
    out["initech-billing"] += [
        {"email": f"{_local_part(rng)}{n}@outlook.com", "status": "5.7.1",
         "reason": BLOCKLISTED, "created": int(now) - 2400 + 40 * n}
        for n in range(60)
    ]  # fmt: skip
    return out


BLOCKLISTED = (
    "550 5.7.1 Unfortunately, messages from [203.0.113.9] weren't sent. Please contact your"
    " Internet service provider since part of their network is on our block list (S3150)."
)


def seed_demo(store: SandboxStore, *, seed: int = 1, now: float | None = None) -> dict[str, int]:
    """Write the demo subusers and bounces into `store` (upserts, nothing removed); the counts."""
    rows = demo_rows(seed, now=now)
    for username, email, disabled, region, _ in SUBUSERS:
        store.add_subuser(username, email=email, disabled=disabled, region=region)
        store.add_bounces(username, rows[username])
    return {"subusers": len(SUBUSERS), "bounces": sum(len(r) for r in rows.values())}
