"""The client sends each call to the API host of its subuser's region, behind that host's own
rate gate; against the sandbox (which refuses a call on the wrong host) over HTTP."""

from __future__ import annotations

import pickle

import pytest

from bounceadmin.sendgrid import OnBehalfOf, Region, SendGridClient, SuppressionList, get_client
from bounceadmin.sendgrid.errors import WrongRegion

PARIS = OnBehalfOf("paris", "eu")
T0 = 1_700_000_000


class RecordingGate:
    def __init__(self) -> None:
        self.waits = 0
        self.pauses: list[float] = []

    def wait(self) -> None:
        self.waits += 1

    def pause_until(self, epoch: float) -> None:
        self.pauses.append(epoch)


@pytest.fixture
def both(sandbox):
    sandbox.store.add_subuser("paris", region="eu")
    sandbox.store.add_subuser("boston")
    for name in ("paris", "boston"):
        sandbox.store.add_bounces(name, [{"email": f"{name}@example.com", "created": T0}])
    return sandbox


def hosts(sandbox) -> list[tuple[str | None, str, int]]:
    return [(r["on_behalf_of"], r["region"], r["status"]) for r in sandbox.requests]


def test_every_call_for_an_eu_subuser_goes_to_the_eu_host(both, sg):
    [page] = list(sg.iter_bounce_pages(PARIS))
    sg.iter_list_pages(SuppressionList.BLOCKS, PARIS).__next__()
    sg.list_groups(PARIS)
    sg.list_event_webhooks(PARIS)
    assert sg.delete_bounce(PARIS, "paris@example.com")

    assert [b.email for b in page] == ["paris@example.com"]
    assert both.store.count("paris") == 0
    assert {(who, region) for who, region, _ in hosts(both)} == {("paris", "eu")}
    assert {status for *_, status in hosts(both)} <= {200, 204}


def test_global_subusers_the_parent_and_the_subuser_listing_use_the_global_host(both, sg):
    list(sg.iter_bounce_pages("boston"))
    list(sg.iter_bounce_pages(OnBehalfOf("boston")))
    list(sg.iter_bounce_pages(None))
    listed = sg.list_subusers()

    assert hosts(both) == [
        ("boston", "global", 200), ("boston", "global", 200), (None, "global", 200),
        (None, "global", 200),
    ]  # fmt: skip
    assert both.requests[-1]["query"]["include_region"] == "true"
    assert {(s.username, s.region) for s in listed} == {
        ("paris", Region.EU), ("boston", Region.GLOBAL),
    }  # fmt: skip


def test_an_eu_call_without_an_eu_host_is_refused_before_anything_is_sent(both, sleeps):
    client = SendGridClient(api_key=both.api_key, base_url=both.url, sleep=sleeps)

    with pytest.raises(WrongRegion, match="SENDGRID_EU_API_URL") as caught:
        list(client.iter_bounce_pages(PARIS))

    assert both.requests == []
    assert caught.value.subuser == "paris" and not caught.value.retryable


def test_a_plain_name_is_global_so_an_eu_subuser_called_by_it_is_refused_upstream(both, sg):
    from bounceadmin.sendgrid.errors import AuthError

    with pytest.raises(AuthError, match="in the eu region"):
        list(sg.iter_bounce_pages("paris"))
    assert hosts(both) == [("paris", "global", 403)]


def test_each_host_waits_at_its_own_gate_and_pauses_only_it(both, sleeps):
    world, eu = RecordingGate(), RecordingGate()
    client = SendGridClient(
        api_key=both.api_key, base_url=both.url, eu_base_url=both.eu_url, sleep=sleeps,
        gate=world, eu_gate=eu,
    )  # fmt: skip
    both.inject_fault("status", status=429, reset=2, subuser="paris")

    list(client.iter_bounce_pages(PARIS))
    list(client.iter_bounce_pages("boston"))

    assert (eu.waits, len(eu.pauses)) == (2, 1)  # the 429 and its retry, on the EU host
    assert (world.waits, world.pauses) == (1, [])


def test_get_client_has_a_gate_per_host(settings):
    settings.SENDGRID_API_URL = "https://api.sendgrid.com"
    settings.SENDGRID_EU_API_URL = "https://api.eu.sendgrid.com"

    client = get_client()

    assert client.eu_base_url == "https://api.eu.sendgrid.com"
    assert client.gate.prefix != client.eu_gate.prefix
    assert settings.SENDGRID_API_KEY not in repr(client)


def test_the_region_survives_pickling_as_errors_carry_it_through_celery():
    again = pickle.loads(pickle.dumps(PARIS))  # noqa: S301 - our own bytes

    assert (again, again.region, type(again)) == ("paris", Region.EU, OnBehalfOf)
    assert OnBehalfOf("x").region == Region.GLOBAL
    with pytest.raises(ValueError):
        OnBehalfOf("x", "mars")
