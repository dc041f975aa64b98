"""Demo and benchmark data for the suppression lists beside the bounces.

`seed_demo` writes the demo bounces (demo.py) and then, for every demo subuser and the parent, a
mix on every other list: blocks, invalid emails, spam reports, global unsubscribes and a few
unsubscribe groups. Some addresses bounced on one subuser are unsubscribed or blocked on
another, and `EVERYWHERE` is on a list of each kind, on different accounts: the demo's question
is "why does this address get none of our mail?". `generate_entries` and `seed_lists` make lists
of any size for benchmarks (rows stream into one bulk insert per list).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from bounceadmin.sandbox.demo import (
    IP,
    SPAM_BLOCK,
    SUBUSERS,
    TLS,
    FastRandom,
    created_before,
    generate_addresses,
    generate_bounces,
)
from bounceadmin.sandbox.demo import seed_demo as seed_demo_bounces
from bounceadmin.sandbox.store import SandboxStore

OTHER_LISTS = ("blocks", "invalid_emails", "spam_reports", "unsubscribes", "group_unsubscribes")
GROUPS = (
    ("Newsletter", "The monthly newsletter"),
    ("Product updates", "New features and release notes"),
    ("Offers", "Discounts and seasonal promotions"),
)
# Per demo account: entries on each list (groups get the last number between them).
DEMO_SIZES = {"blocks": 120, "invalid_emails": 60, "spam_reports": 40, "unsubscribes": 150,
              "group_unsubscribes": 180}  # fmt: skip
PARENT = ""
EVERYWHERE = "pat.nguyen@gmail.com"
BLOCK_REASONS = [
    ("4.0.0", "error dialing remote address: dial tcp {ip}:25: no route to host"),
    ("4.0.0", "error dialing remote address: dial tcp {ip}:25: i/o timeout"),
    ("5.0.0", "550 5.7.1 Unauthenticated email is not accepted from this domain"),
    *[(status, text) for status, text, _ in SPAM_BLOCK + TLS],
]
INVALID_REASONS = [
    "Mail domain mentioned in email address is unknown",
    "Known bad domain",
    "Invalid address: missing @ sign",
    "Address does not meet RFC 5322 syntax",
]


def generate_entries(
    kind: str, rng: random.Random, count: int, *, now: float
) -> Iterator[dict[str, Any]]:
    """`count` distinct realistic entries of one list (`OTHER_LISTS`), created before `now`."""
    if kind not in OTHER_LISTS:
        raise ValueError(f"unknown list {kind!r}; expected one of {', '.join(OTHER_LISTS)}")
    for email, domain, _ in generate_addresses(rng, count):
        entry: dict[str, Any] = {"email": email, "created": created_before(rng, now)}
        if kind == "blocks":
            status, text = rng.choice(BLOCK_REASONS)
            entry["status"] = status
            tag = f"{rng.randint(10, 99)}si{rng.randint(1000000, 9999999)}"
            entry["reason"] = text.format(ip=rng.choice(IP), email=email, domain=domain, tag=tag)
        elif kind == "invalid_emails":
            entry["reason"] = rng.choice(INVALID_REASONS)
        elif kind == "spam_reports":
            entry["ip"] = rng.choice(IP)
        yield entry


def seed_lists(
    store: SandboxStore,
    account: str,
    sizes: dict[str, int],
    *,
    rng: random.Random | None = None,
    now: float | None = None,
) -> dict[str, int]:
    """Add `sizes[kind]` generated entries to each named list of `account` (a subuser, created
    if missing, or "" for the parent); group unsubscribes are spread over the demo GROUPS.
    Returns the entries written per list."""
    rng = rng or FastRandom(1)
    now = time.time() if now is None else now
    if account and store.get_subuser(account) is None:
        store.add_subuser(account)
    written = {}
    for kind, count in sizes.items():
        if kind != "group_unsubscribes":
            rows = generate_entries(kind, rng, count, now=now)
            written[kind] = store.lists.add(kind, account, rows)
            continue
        groups = [
            store.lists.groups.add_group(account, name, description=text, is_default=i == 0)
            for i, (name, text) in enumerate(GROUPS)
        ]
        written[kind] = 0
        for i, group in enumerate(groups):  # the count split over the groups, remainder first
            share = count // len(groups) + (i < count % len(groups))
            rows = generate_entries(kind, rng, share, now=now)
            written[kind] += store.lists.groups.add(account, group["id"], rows)
    return written


def seed_demo(store: SandboxStore, *, seed: int = 1, now: float | None = None) -> dict[str, int]:
    """The demo subusers and bounces, then every other list of each and of the parent (upserts,
    nothing removed); answers `store.summary()`. Deterministic for a given (seed, now)."""
    now = time.time() if now is None else now
    seed_demo_bounces(store, seed=seed, now=now)
    rng = FastRandom(seed + 1000)
    accounts = [name for name, *_ in SUBUSERS]
    for account in [*accounts, PARENT]:
        seed_lists(store, account, DEMO_SIZES, rng=rng, now=now)
    store.lists.add("bounces", PARENT, generate_bounces(rng, 80, now=now))  # its own mail's
    _cross_account(store, accounts, rng, now)
    return store.summary()


def _cross_account(
    store: SandboxStore, accounts: list[str], rng: random.Random, now: float
) -> None:
    """Addresses bounced on one subuser, unsubscribed or blocked on the next; and EVERYWHERE."""
    for i, account in enumerate(accounts):
        bounced = [b["email"] for b in store.list_bounces(account, limit=30, offset=40)]
        after = accounts[(i + 1) % len(accounts)]
        rows = [{"email": e, "created": int(now) - rng.randint(3600, 86400 * 30)} for e in bounced]
        store.lists.add("unsubscribes", after, rows[:15])
        store.lists.add("blocks", accounts[(i + 2) % len(accounts)], rows[15:])
        newsletter = store.lists.groups.groups(after)[0]
        store.lists.groups.add(after, newsletter["id"], rows[5:20])
    day = int(now) - 86400
    first, second, third, fourth = accounts[:4]
    store.add_bounces(first, [{"email": EVERYWHERE, "created": day - 86400 * 9}])
    store.lists.add("blocks", second, [{"email": EVERYWHERE, "created": day - 86400 * 5}])
    store.lists.add("unsubscribes", third, [{"email": EVERYWHERE, "created": day - 86400 * 3}])
    updates = store.lists.groups.groups(fourth)[1]
    store.lists.groups.add(fourth, updates["id"], [{"email": EVERYWHERE, "created": day}])
    store.lists.add("spam_reports", PARENT, [{"email": EVERYWHERE, "created": day, "ip": IP[0]}])
