"""The client's calls on every suppression list, against the sandbox over loopback HTTP."""

import time

import pytest

from bounceadmin.sendgrid import SendGridClient, SuppressionList
from bounceadmin.sendgrid.errors import AuthError
from tests.sendgrid.test_rate_gate import RecordingGate

T0 = 1_700_000_000
FLAT = [SuppressionList.BLOCKS, SuppressionList.INVALID_EMAILS, SuppressionList.SPAM_REPORTS]
PAGED = [SuppressionList.BOUNCES, *FLAT, SuppressionList.GLOBAL_UNSUBSCRIBES]
STORE_NAME = {SuppressionList.GLOBAL_UNSUBSCRIBES: "unsubscribes"}
UNPAGED_DELETE = [SuppressionList.GLOBAL_UNSUBSCRIBES, SuppressionList.GROUP_UNSUBSCRIBES]
ACCOUNTS = pytest.mark.parametrize("subuser", ["acme", None], ids=["subuser", "parent"])


def rows(n: int, *, start: int = T0) -> list[dict]:
    return [
        {"email": f"user{i:05d}@example.com", "created": start + i, "status": "5.7.1",
         "reason": f"blocked {i}", "ip": "192.0.2.9"}
        for i in range(n)
    ]  # fmt: skip


def seed(sandbox, kind: SuppressionList, subuser: str | None, entries: list[dict]) -> None:
    if kind is SuppressionList.BOUNCES and subuser:
        sandbox.store.add_bounces(subuser, entries)
    elif kind is SuppressionList.GROUP_UNSUBSCRIBES:
        group = sandbox.store.lists.groups.add_group(subuser or "", "Newsletter")
        sandbox.store.lists.groups.add(subuser or "", group["id"], entries)
    else:
        sandbox.store.lists.add(STORE_NAME.get(kind, str(kind)), subuser or "", entries)


def requests_to(sandbox, prefix: str) -> list[dict]:
    return [r for r in sandbox.requests if r["path"].startswith(prefix)]


@pytest.fixture(autouse=True)
def acme(sandbox):
    sandbox.store.add_subuser("acme")
    sandbox.store.add_subuser("globex")


@ACCOUNTS
@pytest.mark.parametrize("kind", PAGED)
def test_list_pages_1201_entries_in_three_pages(sandbox, sg, kind, subuser):
    seed(sandbox, kind, subuser, rows(1201))

    pages = list(sg.iter_list_pages(kind, subuser))

    assert [len(p) for p in pages] == [500, 500, 201]
    assert {e.email for p in pages for e in p} == {r["email"] for r in rows(1201)}
    listed = requests_to(sandbox, kind.spec.list_path)
    assert [int(r["query"]["offset"]) for r in listed] == [0, 500, 1000]
    assert {r["on_behalf_of"] for r in listed} == {subuser}


@ACCOUNTS
def test_list_entries_carry_their_lists_fields(sandbox, sg, subuser):
    for kind in [*PAGED, SuppressionList.GROUP_UNSUBSCRIBES]:
        seed(sandbox, kind, subuser, rows(1))

    first = {kind: list(sg.iter_list_pages(kind, subuser))[0][0] for kind in SuppressionList}

    assert first[SuppressionList.BLOCKS][2:4] == ("5.7.1", "blocked 0")
    assert (
        first[SuppressionList.INVALID_EMAILS].reason,
        first[SuppressionList.INVALID_EMAILS].status,
    ) == ("blocked 0", "")
    assert first[SuppressionList.SPAM_REPORTS].ip == "192.0.2.9"
    assert first[SuppressionList.SPAM_REPORTS].reason == ""
    assert first[SuppressionList.GLOBAL_UNSUBSCRIBES].created == T0
    group_entry = first[SuppressionList.GROUP_UNSUBSCRIBES]
    assert (group_entry.group_name, group_entry.created) == ("Newsletter", T0)
    assert group_entry.group_id == sandbox.store.lists.groups.groups(subuser or "")[0]["id"]


def test_list_of_one_account_is_not_anothers(sandbox, sg):
    seed(sandbox, SuppressionList.BLOCKS, "acme", rows(3))
    seed(sandbox, SuppressionList.BLOCKS, None, rows(1))

    assert [len(p) for p in sg.iter_list_pages(SuppressionList.BLOCKS, "globex")] == [0]
    assert [len(p) for p in sg.iter_list_pages(SuppressionList.BLOCKS, None)] == [1]


@pytest.mark.parametrize("kind", FLAT + [SuppressionList.GLOBAL_UNSUBSCRIBES])
def test_list_time_window_and_email_filter(sandbox, sg, kind):
    seed(sandbox, kind, "acme", rows(20))

    [window] = sg.iter_list_pages(kind, "acme", start_time=T0 + 5, end_time=T0 + 9)
    [prefixed] = sg.iter_list_pages(kind, "acme", email="user0001")

    assert sorted(e.created for e in window) == [T0 + 5, T0 + 6, T0 + 7, T0 + 8, T0 + 9]
    assert {e.email for e in prefixed} == {f"user{i:05d}@example.com" for i in range(10, 20)}


def test_group_unsubscribes_come_in_one_page_with_the_window_applied(sandbox, sg):
    seed(sandbox, SuppressionList.GROUP_UNSUBSCRIBES, "acme", rows(700))

    pages = list(sg.iter_list_pages(SuppressionList.GROUP_UNSUBSCRIBES, "acme"))
    [window] = sg.iter_list_pages(
        SuppressionList.GROUP_UNSUBSCRIBES, "acme", start_time=T0 + 5, end_time=T0 + 9
    )

    assert [len(p) for p in pages] == [700]
    assert len(window) == 5
    with pytest.raises(ValueError, match="no email filter"):
        list(sg.iter_list_pages(SuppressionList.GROUP_UNSUBSCRIBES, "acme", email="user"))


@ACCOUNTS
def test_groups_and_their_addresses(sandbox, sg, subuser):
    account = subuser or ""
    news = sandbox.store.lists.groups.add_group(account, "Newsletter", is_default=True)
    updates = sandbox.store.lists.groups.add_group(account, "Product updates", description="New")
    sandbox.store.lists.groups.add(
        account, news["id"], [{"email": "A@x.com"}, {"email": "b@x.com"}]
    )
    sandbox.store.lists.groups.add(
        "globex",
        sandbox.store.lists.groups.add_group("globex", "Other")["id"],
        [{"email": "c@x.com"}],
    )

    groups = sg.list_groups(subuser)

    assert [(g.name, g.is_default, g.unsubscribes) for g in groups] == [
        ("Newsletter", True, 2), ("Product updates", False, 0)
    ]  # fmt: skip
    assert groups[1].description == "New"
    assert sg.list_group_addresses(subuser, news["id"]) == ["a@x.com", "b@x.com"]
    assert sg.list_group_addresses(subuser, updates["id"]) == []


@ACCOUNTS
@pytest.mark.parametrize("kind", [SuppressionList.BOUNCES, *FLAT])
def test_delete_one_then_missing_counts_as_gone(sandbox, sg, kind, subuser):
    seed(sandbox, kind, subuser, rows(2))

    assert sg.get_entry(kind, subuser, "user00000@example.com").email == "user00000@example.com"
    assert sg.delete_entry(kind, subuser, "user00000@example.com") is True
    assert sg.delete_entry(kind, subuser, "user00000@example.com") is False  # a 404
    assert sg.get_entry(kind, subuser, "user00000@example.com") is None
    assert sg.is_listed(kind, subuser, "user00001@example.com") is True


@ACCOUNTS
@pytest.mark.parametrize("kind", [*FLAT, *UNPAGED_DELETE])
def test_a_dated_entry_of_one_address_on_any_list(sandbox, sg, kind, subuser):
    # A longer address sharing the prefix: SendGrid's email filter is a prefix match.
    seed(sandbox, kind, subuser, [{"email": "a@x.com", "created": T0 + 7},
                                  {"email": "a@x.com.au", "created": T0 + 9}])  # fmt: skip
    group_id = None
    if kind is SuppressionList.GROUP_UNSUBSCRIBES:
        [group] = sg.list_groups(subuser)
        group_id = group.id

    found = sg.get_dated_entry(kind, subuser, "A@x.com", group_id=group_id)
    missing = sg.get_dated_entry(kind, subuser, "b@x.com", group_id=group_id)

    assert (found.email, found.created) == ("a@x.com", T0 + 7)
    assert missing is None
    if group_id is not None:
        assert sg.get_dated_entry(kind, subuser, "a@x.com", group_id=group_id + 100) is None


@ACCOUNTS
def test_delete_global_unsubscribe_answered_204_either_way(sandbox, sg, subuser):
    kind = SuppressionList.GLOBAL_UNSUBSCRIBES
    seed(sandbox, kind, subuser, [{"email": "a+tag@example.com"}])

    assert sg.is_listed(kind, subuser, "a+tag@example.com") is True
    assert sg.delete_entry(kind, subuser, "a+tag@example.com") is True
    assert sg.delete_entry(kind, subuser, "a+tag@example.com") is True  # 204 again: not there
    assert sg.is_listed(kind, subuser, "a+tag@example.com") is False
    deletes = [
        r for r in requests_to(sandbox, "/v3/asm/suppressions/global/") if r["method"] == "DELETE"
    ]
    assert [r["status"] for r in deletes] == [204, 204]


@ACCOUNTS
def test_delete_group_unsubscribe_and_an_unknown_group(sandbox, sg, subuser):
    kind = SuppressionList.GROUP_UNSUBSCRIBES
    seed(sandbox, kind, subuser, [{"email": "a@x.com"}])
    [group] = sg.list_groups(subuser)

    assert sg.is_listed(kind, subuser, "a@x.com", group_id=group.id) is True
    assert sg.delete_entry(kind, subuser, "a@x.com", group_id=group.id) is True
    assert sg.is_listed(kind, subuser, "a@x.com", group_id=group.id) is False
    assert sg.delete_entry(kind, subuser, "a@x.com", group_id=group.id) is True  # 204
    assert sg.delete_entry(kind, subuser, "a@x.com", group_id=group.id + 100) is False  # 404
    with pytest.raises(ValueError, match="group_id"):
        sg.delete_entry(kind, subuser, "a@x.com")


@ACCOUNTS
@pytest.mark.parametrize("kind", FLAT)
def test_bulk_delete_chunks_at_500_and_delete_all(sandbox, sg, kind, subuser):
    seed(sandbox, kind, subuser, rows(1203))
    emails = [r["email"] for r in rows(1201)] + ["nobody@example.com"]

    assert sg.delete_entries(kind, subuser, emails) == 3
    remaining = [e for p in sg.iter_list_pages(kind, subuser) for e in p]
    assert len(remaining) == 2
    sg.delete_all_entries(kind, subuser)
    assert [len(p) for p in sg.iter_list_pages(kind, subuser)] == [0]
    bodies = [
        r["body"] for r in requests_to(sandbox, kind.spec.list_path) if r["method"] == "DELETE"
    ]
    assert [len(b.get("emails", [])) for b in bodies] == [500, 500, 202, 0]


@pytest.mark.parametrize(
    "kind", [SuppressionList.GLOBAL_UNSUBSCRIBES, SuppressionList.GROUP_UNSUBSCRIBES]
)
def test_bulk_delete_is_refused_where_upstream_has_none(sg, kind):
    with pytest.raises(ValueError, match="no bulk delete"):
        sg.delete_entries(kind, "acme", ["a@x.com"])
    with pytest.raises(ValueError, match="no bulk delete"):
        sg.delete_all_entries(kind, "acme")


def test_list_entries_with_nul_or_overlong_addresses(sandbox, sg):
    long_address = "x" * 330 + "@example.com"
    sandbox.store.lists.add("spam_reports", "acme", [
        {"email": "nul\x00@example.com", "created": T0 + 3},
        {"email": long_address, "created": T0 + 2},
        {"email": "fine@example.com", "created": T0 + 1, "ip": "192.0.2.1\x00"},
    ])  # fmt: skip

    [page] = sg.iter_list_pages(SuppressionList.SPAM_REPORTS, "acme")

    assert [(e.email, e.ip) for e in page] == [("fine@example.com", "192.0.2.1")]
    assert page.received == 3
    notes = [(a.set_aside, a.what) for a in page.adjustments]
    assert (True, "set aside: address with 1 NUL character(s)") in notes
    assert any(aside and "342 characters" in what for aside, what in notes)
    assert page.has_email(long_address)


def test_list_401_is_a_clear_error_without_the_key(sandbox, sleeps):
    secret = "SG.this-key-is-wrong-and-secret"
    client = SendGridClient(api_key=secret, base_url=sandbox.url, sleep=sleeps)

    with pytest.raises(AuthError) as info:
        list(client.iter_list_pages(SuppressionList.BLOCKS, None))

    assert "401" in str(info.value) and "the parent account" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert sleeps.calls == []


@pytest.mark.parametrize("kind", list(SuppressionList))
def test_list_unknown_subuser_is_a_clear_error(sandbox, sg, kind):
    with pytest.raises(AuthError, match="subuser 'nobody'"):
        list(sg.iter_list_pages(kind, "nobody"))
    with pytest.raises(AuthError, match="subuser 'nobody'"):
        sg.list_groups("nobody")


def test_list_waits_out_429_through_the_gate(sandbox, sleeps):
    seed(sandbox, SuppressionList.INVALID_EMAILS, "acme", rows(3))
    gate = RecordingGate()
    client = SendGridClient(api_key=sandbox.api_key, base_url=sandbox.url, sleep=sleeps, gate=gate)
    sandbox.inject_fault("status", status=429, reset=2, path="/v3/suppression/invalid_emails")

    before = time.time()
    [page] = client.iter_list_pages(SuppressionList.INVALID_EMAILS, "acme")

    assert len(page) == 3
    assert gate.waits == 2
    [paused] = gate.pauses
    assert before + 2 <= paused <= time.time() + 2.2
    assert sleeps.calls == [pytest.approx(2.1)]


@pytest.mark.parametrize(
    "kind", [SuppressionList.GLOBAL_UNSUBSCRIBES, SuppressionList.GROUP_UNSUBSCRIBES]
)
def test_list_retries_5xx_on_asm_calls(sandbox, sg, sleeps, kind):
    seed(sandbox, kind, "acme", rows(2))
    sandbox.inject_fault("status", status=503, count=2)

    [page] = sg.iter_list_pages(kind, "acme")

    assert len(page) == 2 and len(sleeps.calls) == 2


def test_list_kind_may_be_given_by_its_value(sandbox, sg):
    seed(sandbox, SuppressionList.BLOCKS, "acme", rows(2))

    [page] = sg.iter_list_pages("blocks", "acme")

    assert len(page) == 2 and sg.delete_entry("blocks", "acme", "user00000@example.com")
    with pytest.raises(ValueError):
        list(sg.iter_list_pages("no_such_list", "acme"))


def test_group_ids_the_database_cannot_hold_are_set_aside_not_fatal():
    """JSON may carry 1e400 (infinity), a negative id or one past 64 bits: that entry is set
    aside, the rest kept; an integral float is the integer it writes."""
    from bounceadmin.sendgrid.listentries import parse_entries, parse_group

    ids = {"inf": 1e400, "neg": -5, "huge": 2**70, "bool": True, "text": "7", "float": 7.0,
           "int": 8}  # fmt: skip
    items = [{"email": f"{name}@example.com", "created_at": 1700000000, "group_id": value,
              "group_name": "News"} for name, value in ids.items()]  # fmt: skip
    page = parse_entries(SuppressionList.GROUP_UNSUBSCRIBES, items)
    assert {(e.email, e.group_id) for e in page} == {("float@example.com", 7),
                                                     ("int@example.com", 8)}  # fmt: skip
    aside = {a.what for a in page.adjustments if a.set_aside}
    assert aside == {"set aside: no usable group id"}
    assert all(page.has_email(f"{name}@example.com") for name in ids)  # joins up still
    for bad in (1e400, -1, 2**63, "5"):
        with pytest.raises(ValueError):
            parse_group({"id": bad, "name": "News"})
    assert parse_group({"id": 5.0, "name": "News"}).id == 5
