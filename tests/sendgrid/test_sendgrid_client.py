import time

import pytest

from bounceadmin.sendgrid import SendGridClient
from bounceadmin.sendgrid.client import _reset_wait
from bounceadmin.sendgrid.errors import AuthError, BadResponse, RateLimited, Unavailable

T0 = 1_700_000_000


def seed(sandbox, subuser: str, n: int, *, start: int = T0) -> list[dict]:
    sandbox.store.add_subuser(subuser)
    rows = [
        {
            "email": f"user{i:05d}@example.com",
            "status": "5.1.1",
            "reason": f"550 5.1.1 user{i} unknown",
            "created": start + i,
        }
        for i in range(n)
    ]
    sandbox.store.add_bounces(subuser, rows)
    return rows


def bounce_requests(sandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["path"].startswith("/v3/suppression/bounces")]


def test_client_pages_1201_bounces_in_three_pages(sandbox, sg):
    rows = seed(sandbox, "acme", 1201)

    pages = list(sg.iter_bounce_pages("acme"))

    assert [len(p) for p in pages] == [500, 500, 201]
    emails = {b.email for page in pages for b in page}
    assert emails == {r["email"] for r in rows}
    offsets = [int(r["query"]["offset"]) for r in bounce_requests(sandbox)]
    limits = {r["query"]["limit"] for r in bounce_requests(sandbox)}
    assert offsets == [0, 500, 1000]
    assert limits == {"500"}


def test_client_stops_after_a_full_last_page_with_one_empty_request(sandbox, sg):
    seed(sandbox, "acme", 1000)

    pages = list(sg.iter_bounce_pages("acme"))

    assert [len(p) for p in pages] == [500, 500, 0]


def test_client_sends_on_behalf_of_on_every_bounce_call(sandbox, sg):
    seed(sandbox, "acme", 600)
    seed(sandbox, "globex", 3)

    list(sg.iter_bounce_pages("acme"))
    list(sg.iter_bounce_pages("globex"))
    sg.get_bounce("acme", "user00001@example.com")
    sg.delete_bounce("acme", "user00002@example.com")
    sg.delete_bounces("globex", ["user00000@example.com"])

    seen = [(r["method"], r["on_behalf_of"]) for r in bounce_requests(sandbox)]
    assert seen == [
        ("GET", "acme"),
        ("GET", "acme"),
        ("GET", "globex"),
        ("GET", "acme"),
        ("DELETE", "acme"),
        ("DELETE", "globex"),
    ]


def test_client_parses_fractional_created_and_lowercases_email(sandbox, sg):
    sandbox.store.add_subuser("acme")
    sandbox.store.add_bounces(
        "acme",
        [{"email": "Mixed.Case@Example.COM", "status": "4.2.2", "reason": "452 full",
          "created": T0 + 0.5}],
    )  # fmt: skip

    [page] = list(sg.iter_bounce_pages("acme"))

    assert page[0].email == "mixed.case@example.com"
    assert page[0].created == T0 + 0.5


def test_client_passes_time_window_and_email_filter(sandbox, sg):
    seed(sandbox, "acme", 20)

    [page] = list(sg.iter_bounce_pages("acme", start_time=T0 + 5, end_time=T0 + 9))
    [prefixed] = list(sg.iter_bounce_pages("acme", email="user0001"))

    assert sorted(b.created for b in page) == [T0 + 5, T0 + 6, T0 + 7, T0 + 8, T0 + 9]
    assert {b.email for b in prefixed} == {f"user{i:05d}@example.com" for i in range(10, 20)}


def test_client_waits_out_429_until_reset(sandbox, sg, sleeps):
    seed(sandbox, "acme", 3)
    sandbox.inject_fault("status", status=429, reset=int(time.time()) + 3, count=2)

    [page] = list(sg.iter_bounce_pages("acme"))

    assert len(page) == 3
    assert len(sleeps.calls) == 2
    assert all(2 <= s <= 3.2 for s in sleeps.calls)


def test_client_reads_small_reset_as_seconds_from_now():
    assert _reset_wait("2") == pytest.approx(2.1)
    assert _reset_wait(str(int(time.time()) + 10)) == pytest.approx(10.1, abs=1.1)
    assert _reset_wait(None) == pytest.approx(1.1)
    assert _reset_wait("garbage") == pytest.approx(1.1)


def test_client_gives_up_on_endless_429(sandbox, sg):
    seed(sandbox, "acme", 3)
    sandbox.inject_fault("status", status=429, reset=1, count=50)

    with pytest.raises(RateLimited) as info:
        list(sg.iter_bounce_pages("acme"))

    assert info.value.retryable
    assert len(bounce_requests(sandbox)) == sg.max_retries + 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_client_retries_5xx_with_backoff(sandbox, sg, sleeps, status):
    seed(sandbox, "acme", 3)
    sandbox.inject_fault("status", status=status, count=2)

    [page] = list(sg.iter_bounce_pages("acme"))

    assert len(page) == 3
    assert len(sleeps.calls) == 2
    assert sleeps.calls[1] > sleeps.calls[0] * 0.9  # grows (jitter aside)


def test_client_raises_unavailable_after_bounded_5xx(sandbox, sg):
    seed(sandbox, "acme", 3)
    sandbox.inject_fault("status", status=503, count=10)

    with pytest.raises(Unavailable, match="503"):
        list(sg.iter_bounce_pages("acme"))
    assert len(bounce_requests(sandbox)) == 4


@pytest.mark.parametrize("kind", ["reset", "truncated", "timeout"])
def test_client_retries_broken_connections(sandbox, sg, kind):
    seed(sandbox, "acme", 3)
    sandbox.inject_fault(kind, count=1, seconds=2)

    [page] = list(sg.iter_bounce_pages("acme"))

    assert len(page) == 3


def test_client_unreachable_upstream_is_unavailable(sleeps):
    client = SendGridClient(
        api_key="SG.x", base_url="http://127.0.0.1:9", max_retries=2, backoff=0.01, sleep=sleeps
    )

    with pytest.raises(Unavailable, match="no answer after 3 attempts"):
        list(client.iter_bounce_pages("acme"))


def test_client_401_is_a_clear_error_without_the_key(sandbox, sleeps):
    secret = "SG.this-key-is-wrong-and-secret"
    client = SendGridClient(api_key=secret, base_url=sandbox.url, sleep=sleeps)
    seed(sandbox, "acme", 1)

    with pytest.raises(AuthError) as info:
        list(client.iter_bounce_pages("acme"))

    message = str(info.value)
    assert "401" in message and "'acme'" in message
    assert secret not in message and secret not in repr(info.value) and secret not in repr(client)
    assert sleeps.calls == []  # not retried


def test_client_unknown_subuser_is_a_clear_error(sandbox, sg):
    with pytest.raises(AuthError, match="subuser 'nobody'"):
        list(sg.iter_bounce_pages("nobody"))
    assert len(bounce_requests(sandbox)) == 1


def test_client_bad_json_is_a_clear_error(sandbox, sg):
    seed(sandbox, "acme", 3)
    sandbox.inject_fault("bad_json", count=10)

    with pytest.raises(BadResponse, match="not JSON"):
        list(sg.iter_bounce_pages("acme"))
    assert len(bounce_requests(sandbox)) == sg.max_retries + 1  # a read is retried, bounded


def test_client_retries_a_read_whose_body_is_not_json(sandbox, sg, sleeps):
    seed(sandbox, "acme", 3)
    sandbox.inject_fault("bad_json", count=2)

    [page] = list(sg.iter_bounce_pages("acme"))

    assert len(page) == 3 and len(sleeps.calls) == 2


def test_client_delete_one_reports_already_gone(sandbox, sg):
    seed(sandbox, "acme", 2)

    assert sg.delete_bounce("acme", "user00000@example.com") is True
    assert sg.delete_bounce("acme", "user00000@example.com") is False
    assert {b["email"] for b in sandbox.store.bounces("acme")} == {"user00001@example.com"}


def test_client_delete_path_escapes_the_address(sandbox, sg):
    sandbox.store.add_subuser("acme")
    sandbox.store.add_bounces(
        "acme", [{"email": "a+tag@example.com", "status": "5.1.1", "reason": "x", "created": T0}]
    )

    assert sg.get_bounce("acme", "a+tag@example.com").email == "a+tag@example.com"
    assert sg.delete_bounce("acme", "a+tag@example.com") is True
    assert sandbox.store.bounces("acme") == []


def test_client_bulk_delete_chunks_at_500(sandbox, sg):
    rows = seed(sandbox, "acme", 1203)

    batches = sg.delete_bounces("acme", [r["email"] for r in rows[:1201]])

    assert batches == 3
    bodies = [r["body"] for r in bounce_requests(sandbox) if r["method"] == "DELETE"]
    assert [len(b["emails"]) for b in bodies] == [500, 500, 201]
    assert len(sandbox.store.bounces("acme")) == 2


def test_client_delete_all(sandbox, sg):
    seed(sandbox, "acme", 10)

    sg.delete_all_bounces("acme")

    assert sandbox.store.bounces("acme") == []
    [request] = [r for r in bounce_requests(sandbox) if r["method"] == "DELETE"]
    assert request["body"] == {"delete_all": True}


def test_client_lists_subusers_across_pages(sandbox, sg):
    for i in range(230):
        sandbox.store.add_subuser(f"sub{i:03d}", disabled=(i == 7))

    subusers = sg.list_subusers()

    assert [s.username for s in subusers] == [f"sub{i:03d}" for i in range(230)]
    assert [s.username for s in subusers if s.disabled] == ["sub007"]
    listing = [r for r in sandbox.requests if r["path"] == "/v3/subusers"]
    assert len(listing) == 3
    assert all(r["on_behalf_of"] is None for r in listing)


def test_error_text_keeps_nothing_a_database_cannot_store():
    import requests

    from bounceadmin.sendgrid.client import _error_text

    response = requests.Response()
    response._content = b'{"errors": [{"message": "bad\\u0000 input \\ud800 here"}]}'

    assert _error_text(response) == "bad input here"
