"""Tests for bounceadmin.bounces.classification (pure Python: no database, no settings)."""

import csv
import random
import re
import time
from functools import partial

import pytest

from bounceadmin.bounces.classification import (
    MAX_REASON_CHARS,
    RULES,
    Classification,
    Fault,
    Matcher,
    Rule,
    bounce_type,
    classify,
    matcher,
    reference,
)
from tests.support import TESTS

DATA = TESTS / "data"
SENDGRID_CLASSES = {
    "Invalid Address",
    "Mailbox Unavailable",
    "Technical Failure",
    "Reputation",
    "Content",
    "Frequency or Volume Too High",
    "Unclassified",
}
FAULTS = {"recipient", "sender", "unknown"}
UNCLASSIFIED = ("Unclassified", "unknown")


def load_rows(name):
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        pytest.param(row["status"], row["reason"], row["classification"], row["fault"], id=f"{n}")
        for n, row in enumerate(rows, start=2)  # id = line number in the file
    ]


SHARED_ROWS = load_rows("bounce-reasons.tsv")
EXTRA_ROWS = load_rows("bounce-reasons-extra.tsv")
ALL_ROWS = SHARED_ROWS + EXTRA_ROWS


def varied_reasons(count, seed=0):
    """Realistic (status, reason) pairs: every labelled reply with fresh addresses, IPs, ids,
    case and line breaks, plus one in ten replies that no rule knows."""
    rng = random.Random(seed)
    labelled = [(p.values[0], p.values[1]) for p in ALL_ROWS]
    neutral = "the of message server please contact your administrator reply see information"
    neutral_words = neutral.split()
    pairs = []
    for _ in range(count):
        if rng.random() < 0.1:
            words = rng.choices(neutral_words, k=rng.randint(3, 25))
            pairs.append((rng.choice(["5.0.0", "550", "", "4.0.0"]), " ".join(words)))
            continue
        status, reason = rng.choice(labelled)
        user = f"user{rng.randrange(10**6)}@host{rng.randrange(10**4)}.example"
        reason = re.sub(r"[\w.+-]+@[\w.-]+\w", user, reason)
        ip = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        reason = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b", ip, reason)
        reason += f" {rng.getrandbits(48):x}" if rng.random() < 0.5 else ""
        if rng.random() < 0.1:
            reason = reason.upper()
        if rng.random() < 0.1:
            reason = reason.replace(" ", "\r\n ", 1)
        pairs.append((status, reason))
    return pairs


# --------------------------------------------------------------------- labelled data
@pytest.mark.parametrize(("status", "reason", "expected_class", "expected_fault"), SHARED_ROWS)
def test_classify_matches_shared_labels(status, reason, expected_class, expected_fault):
    assert classify(status, reason) == (expected_class, expected_fault)


@pytest.mark.parametrize(("status", "reason", "expected_class", "expected_fault"), EXTRA_ROWS)
def test_classify_matches_extra_labels(status, reason, expected_class, expected_fault):
    assert classify(status, reason) == (expected_class, expected_fault)


def test_extra_labels_cover_every_class_and_fault():
    labels = {(p.values[2], p.values[3]) for p in EXTRA_ROWS}
    assert len(EXTRA_ROWS) >= 60
    assert {label for label, _ in labels} == SENDGRID_CLASSES
    assert {fault for _, fault in labels} == FAULTS


@pytest.mark.parametrize("rows", [SHARED_ROWS, EXTRA_ROWS], ids=["shared", "extra"])
def test_labelled_data_uses_only_known_values(rows):
    for param in rows:
        _, _, label, fault = param.values
        assert label in SENDGRID_CLASSES
        assert fault in FAULTS
        assert label != "Unclassified" or fault == "unknown"


# ------------------------------------------------------------ status and text priority
@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("5.1.1", "550", ("Invalid Address", "recipient")),
        ("5.1.1", "", ("Invalid Address", "recipient")),
        ("5.1.1", None, ("Invalid Address", "recipient")),
        ("5.2.2", "552", ("Mailbox Unavailable", "recipient")),
        ("4.4.1", "", ("Technical Failure", "unknown")),
        ("5.7.26", "550", ("Technical Failure", "sender")),
        ("", "550 5.1.1 <someone@example.com>", ("Invalid Address", "recipient")),
        ("5.0.0", "550 5.2.1 <someone@example.com>", ("Mailbox Unavailable", "recipient")),
        (None, "550 #5.1.1", ("Invalid Address", "recipient")),
        ("", "", UNCLASSIFIED),
        (None, None, UNCLASSIFIED),
        ("garbage", None, UNCLASSIFIED),
        ("9.9.9", "something happened", UNCLASSIFIED),
        ("5.0.0", "", UNCLASSIFIED),
        ("550", "550", UNCLASSIFIED),
        ("5.7.1", "550 5.7.1", UNCLASSIFIED),
        ("4.7.0", "421 4.7.0", UNCLASSIFIED),
    ],
)
def test_classify_falls_back_to_status_when_reason_is_uninformative(status, reason, expected):
    assert classify(status, reason) == expected


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("5.7.1", "550 5.7.1 <someone@example.com>... User unknown", "Invalid Address"),
        ("5.7.1", "554 5.7.1 Mailbox is full", "Mailbox Unavailable"),
        ("5.1.1", "554 5.7.1 Client host blocked using zen.spamhaus.org", "Reputation"),
        ("5.1.1", "421 Too many concurrent connections", "Frequency or Volume Too High"),
        ("5.2.2", "Connection timed out", "Technical Failure"),
        ("5.1.1", "550 Message rejected as spam", "Content"),
    ],
)
def test_classify_prefers_reply_text_over_misleading_status(status, reason, expected):
    assert classify(status, reason)[0] == expected


def test_classify_ignores_case_and_line_breaks():
    reason = "550-5.1.1 The email ACCOUNT that you tried\r\n   to reach DOES NOT EXIST."
    assert classify("", reason) == ("Invalid Address", "recipient")


def test_classify_matches_rules_on_whole_words_only():
    assert classify("", "554 listed at zen.spamhaus.org")[0] == "Reputation"
    assert classify("", "554 because the ip is in Spamhaus's list")[0] == "Reputation"
    assert classify("", "554 see nospamhaus.example") == UNCLASSIFIED
    assert classify("", "554 see spamhausx.example") == UNCLASSIFIED
    assert classify("", "553 5.7.1 [BL21] Connections refused")[0] == "Reputation"


def test_classify_scans_only_the_first_max_reason_chars():
    tail = " user unknown"
    fits = "x" * (MAX_REASON_CHARS - len(tail)) + tail
    assert classify("", fits)[0] == "Invalid Address"
    assert classify("", "x" + fits) == UNCLASSIFIED  # "... user unknow" after the cut


# ------------------------------------------------------------------- hostile input
class BrokenStr:
    def __str__(self):
        raise RuntimeError("no")


HOSTILE_REASONS = [
    None,
    "",
    "   \r\n\t ",
    "<html><script>alert('user unknown')</script><body>" + "<div>" * 5000 + "</body></html>",
    "A" * 100_000,
    "user unknown " * 10_000,
    ("x" * 39 + " ") * 2_600,  # 100 KB of words
    "(" * 50_000 + "[" * 50_000,
    "550 5.1.1 user\x00unknown\x01\x02\x1b[31m\x7f",
    "\x00" * 1000,
    "550 5.1.1 b\xe4d r\xe9cipient \u202e\ufeff\udcff\U0001f4a9 mailbox full",
    "\\" * 5000 + "$" * 5000,
    b"550 5.1.1 user unknown \xff\xfe",
    bytearray(b"\x00" * 10),
    12345,
    BrokenStr(),
]


@pytest.mark.parametrize("reason", HOSTILE_REASONS, ids=range(len(HOSTILE_REASONS)))
@pytest.mark.parametrize("status", ["5.1.1", "", None, "\x00", "5." * 10_000, b"\xff", 550])
def test_classify_never_raises_on_hostile_input(status, reason):
    label, fault = classify(status, reason)
    assert label in SENDGRID_CLASSES
    assert fault in FAULTS


@pytest.mark.parametrize("reason", HOSTILE_REASONS, ids=range(len(HOSTILE_REASONS)))
def test_bounce_type_never_raises_on_hostile_input(reason):
    assert bounce_type(reason, reason) in {"hard", "soft"}


def test_classify_reads_bytes_reasons():
    assert classify("", b"550 User unknown \xff")[0] == "Invalid Address"


def test_classify_handles_huge_hostile_input_quickly():
    reasons = [reason for reason in HOSTILE_REASONS if isinstance(reason, str)] * 20
    started = time.process_time()  # CPU time: a loaded machine does not inflate it
    for reason in reasons:
        classify("5.0.0", reason)
    assert time.process_time() - started < 2.0


# --------------------------------------------------------------------- bounce_type
@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("5.1.1", None, "hard"),
        ("5.7.26", "", "hard"),
        ("550", None, "hard"),
        ("4.2.2", "550 but the status wins", "soft"),
        ("452", None, "soft"),
        (" 4.4.7 ", None, "soft"),
        ("", "550 5.1.1 User unknown", "hard"),
        (None, "452 4.2.2 Mailbox full", "soft"),
        ("", "452-4.2.2 The email account is over quota", "soft"),
        ("", "4.4.7 Delivery time expired", "soft"),
        ("garbage", "421 Too many connections", "soft"),
        ("2.0.0", "451 Temporary failure", "soft"),
        ("", "Connection timed out", "hard"),
        ("", "", "hard"),
        (None, None, "hard"),
        ("", "5500 not a code", "hard"),
    ],
)
def test_bounce_type_reads_status_then_reply_code(status, reason, expected):
    assert bounce_type(status, reason) == expected


def test_bounce_type_accepts_status_only():
    assert bounce_type("4.2.2") == "soft"
    assert bounce_type("5.1.1") == "hard"
    assert bounce_type(None) == "hard"


# ------------------------------------------------------------------ the rules table
def test_choices_values_are_sendgrid_names_and_faults():
    assert {value for value, _ in Classification.choices} == SENDGRID_CLASSES
    assert {value for value, _ in Fault.choices} == FAULTS


def test_rules_yield_valid_outcomes_and_unclassified_only_with_unknown_fault():
    for rule in RULES:
        assert rule.classification in SENDGRID_CLASSES
        assert rule.fault in FAULTS
        assert rule.classification != "Unclassified" or rule.fault == "unknown"
        assert rule.reason or rule.status


def test_rules_compile_in_lower_case_and_never_match_empty_text():
    for rule in RULES:
        if rule.reason:
            assert re.compile(rule.reason).search("") is None, rule.reason
            assert not re.search(r"(?<!\\)[A-Z]", rule.reason), rule.reason
        if rule.status:
            assert re.compile(rule.status).fullmatch("") is None, rule.status


def test_rules_list_reply_rows_before_status_only_rows():
    kinds = [bool(rule.reason) for rule in RULES]
    assert kinds == sorted(kinds, reverse=True)


def test_rules_every_alternative_is_indexed_by_a_whole_first_word():
    # Only for speed (the answers are the same either way): an alternative without a literal
    # first word is tried on every reply, and one first word that may run on ("mail ?box",
    # "throttl\w*") makes every reply pay for indexing word heads. Write "mailbox|mail box".
    engine = matcher.default()
    unindexed = engine.unindexed & ((1 << engine.width) - 1)
    reply_alternatives = [
        alternative.reason.pattern
        for i, alternative in enumerate(engine.alternatives)
        if alternative.reason and unindexed >> i & 1
    ]
    assert reply_alternatives == []
    assert not engine.heads_used


# ------------------------------------------------- the matcher and the reference reading
def test_classify_rule_with_reason_and_status_needs_both():
    table = (
        Rule(r"policy", r"5\.7\.1", "Content", "sender"),
        Rule(r"rejected by policy", None, "Reputation", "sender"),
        Rule(None, r"5\.1\.1", "Invalid Address", "recipient"),
    )
    for read in (Matcher(table).classify, partial(reference.classify, rules=table)):
        assert read("5.7.1", "550 rejected by policy") == ("Content", "sender")
        assert read("5.7.2", "550 rejected by policy") == ("Reputation", "sender")
        assert read("5.1.1", "550 rejected") == ("Invalid Address", "recipient")
        assert read("5.1.2", "550 rejected") == UNCLASSIFIED


def test_classify_refuses_reply_rows_after_status_only_rows():
    table = (
        Rule(None, r"5\.1\.1", "Invalid Address", "recipient"),
        Rule(r"user unknown", None, "Invalid Address", "recipient"),
    )
    with pytest.raises(ValueError, match="follows a status-only row"):
        Matcher(table)


def test_matcher_applies_a_row_added_to_the_table():
    # Adding a rule is adding a row: a matcher built from the longer table applies it in its
    # place (earlier rows still win), as the reference reading of that table does.
    greylisting = Rule(
        r"greylisted|greylisting", r"4\.\d{1,3}\.\d{1,3}", "Technical Failure", "unknown"
    )
    after = max(i for i, rule in enumerate(RULES) if rule.reason) + 1  # after the reply rows
    table = (*RULES[:after], greylisting, *RULES[after:])
    fast = Matcher(table)
    cases = [
        ("4.7.1", "451 4.7.1 Greylisted, please try again later", ("Technical Failure", "unknown")),
        ("", "451 4.7.1 You are GREYLISTED", ("Technical Failure", "unknown")),
        ("5.7.1", "550 5.7.1 greylisted", UNCLASSIFIED),  # its status pattern does not match
        ("4.7.1", "451 4.7.1 ungreylisted", UNCLASSIFIED),  # not a whole word
        ("4.2.2", "452 4.2.2 Mailbox full, greylisted", ("Mailbox Unavailable", "recipient")),
    ]
    for status, reason, expected in cases:
        assert fast.classify(status, reason) == expected, reason
        assert reference.classify(status, reason, rules=table) == expected, reason
    assert classify("4.7.1", "451 4.7.1 Greylisted") == UNCLASSIFIED  # RULES has no such row
    for status, reason in [(p.values[0], p.values[1]) for p in ALL_ROWS] + varied_reasons(500):
        assert fast.classify(status, reason) == reference.classify(status, reason, rules=table)


@pytest.mark.parametrize(("status", "reason", "label", "fault"), ALL_ROWS)
def test_classify_agrees_with_reference_on_labelled_rows(status, reason, label, fault):
    assert classify(status, reason) == reference.classify(status, reason)


def test_classify_agrees_with_reference_on_shuffled_rule_words():
    rng = random.Random(1)
    vocabulary = sorted(
        {word for rule in RULES if rule.reason for word in re.findall(r"[a-z]+", rule.reason)}
        | {word for p in ALL_ROWS for word in p.values[1].lower().split()}
    )
    separators = [" ", " ", ". ", "; ", "-", ":", "\n", "[", "]", "(", "_", "\xe9", "", "/"]
    for _ in range(3000):
        parts = rng.choices(vocabulary, k=rng.randint(1, 10))
        reason = "".join(part + rng.choice(separators) for part in parts)
        status = rng.choice(["", "5.1.1", "5.7.1", "4.2.2", "550", "5.3.4", None])
        assert classify(status, reason) == reference.classify(status, reason), reason


def test_classify_is_fast_on_varied_reasons():
    # The refresh classifies a million rows; 20,000 here take ~0.3 s on a slow machine. The
    # bound only catches a pathological regression (e.g. catastrophic backtracking).
    pairs = varied_reasons(20_000)
    started = time.process_time()  # CPU time: a loaded machine does not inflate it
    for status, reason in pairs:
        classify(status, reason)
    assert time.process_time() - started < 2.0
