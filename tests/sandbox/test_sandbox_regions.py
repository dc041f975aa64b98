"""The sandbox plays both of SendGrid's API hosts (global, and the EU region's on a port of its
own) and refuses a call on behalf of a subuser of the other region, so the app's routing is
tested against it."""

from __future__ import annotations

import pytest
import requests

from bounceadmin.sandbox import SandboxServer
from tests.support.openapi import SUBUSERS, assert_matches_spec
from tests.support.sandbox_fixtures import start_sandbox_process

BOUNCES = "/v3/suppression/bounces"


def call(sandbox: SandboxServer, base: str, path: str, subuser: str | None = None, **params):
    return requests.get(base + path, headers=sandbox.headers(subuser), params=params, timeout=5)


@pytest.fixture
def both(sandbox: SandboxServer) -> SandboxServer:
    sandbox.store.add_subuser("paris", region="eu")
    sandbox.store.add_subuser("boston")
    sandbox.store.add_bounces("paris", [{"email": "p@example.com"}])
    sandbox.store.add_bounces("boston", [{"email": "b@example.com"}])
    return sandbox


def test_each_host_serves_its_own_regions_subusers(both):
    on_eu = call(both, both.eu_url, BOUNCES, "paris")
    on_global = call(both, both.url, BOUNCES, "boston")

    assert [b["email"] for b in on_eu.json()] == ["p@example.com"]
    assert [b["email"] for b in on_global.json()] == ["b@example.com"]
    assert both.eu_url != both.url
    assert [(r["on_behalf_of"], r["region"]) for r in both.requests] == [
        ("paris", "eu"), ("boston", "global"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("host", "subuser", "region"),
    [("url", "paris", "eu"), ("eu_url", "boston", "global")],
)
def test_a_subuser_of_the_other_region_is_refused(both, host, subuser, region):
    for path in (BOUNCES, BOUNCES + "/p%40example.com", "/v3/suppression/blocks",
                 "/v3/asm/groups", "/v3/user/webhooks/event/settings/all"):  # fmt: skip
        resp = call(both, getattr(both, host), path, subuser)

        assert resp.status_code == 403, path
        assert resp.json() == {
            "errors": [{
                "field": "on-behalf-of",
                "message": f"subuser '{subuser}' is in the {region} region: call the API host"
                " of that region",
            }]
        }  # fmt: skip
    # A delete refused on the wrong host removes nothing.
    requests.delete(
        getattr(both, host) + BOUNCES, headers=both.headers(subuser), json={"delete_all": True},
        timeout=5,
    )  # fmt: skip
    assert both.store.count(subuser) == 1


def test_the_parent_account_and_the_subuser_listing_are_global(both):
    assert call(both, both.url, BOUNCES).status_code == 200
    assert call(both, both.url, "/v3/subusers").status_code == 200
    for path in (BOUNCES, "/v3/subusers", "/v3/scopes"):
        refused = call(both, both.eu_url, path)
        assert refused.status_code == 403
        assert "the parent account is in the global region" in refused.text


def test_the_subuser_listing_filters_and_names_regions_per_the_spec(both):
    regional = call(both, both.url, "/v3/subusers", include_region="true")
    eu_only = call(both, both.url, "/v3/subusers", region="eu", include_region="true")
    plain = call(both, both.url, "/v3/subusers", region="global")

    assert {s["username"]: s["region"] for s in regional.json()} == {
        "paris": "eu", "boston": "global",
    }  # fmt: skip
    assert [(s["username"], s["region"]) for s in eu_only.json()] == [("paris", "eu")]
    assert [s["username"] for s in plain.json()] == ["boston"]
    assert "region" not in plain.json()[0]
    for resp in (regional, eu_only, plain):
        assert_matches_spec(SUBUSERS, resp)


def test_each_host_has_rate_limits_of_its_own(both):
    both.set_rate_limit(1, 60)

    assert call(both, both.url, BOUNCES, "boston").status_code == 200
    assert call(both, both.eu_url, BOUNCES, "paris").status_code == 200
    assert call(both, both.url, BOUNCES, "boston").status_code == 429
    assert call(both, both.eu_url, BOUNCES, "paris").status_code == 429


def test_the_cli_serves_the_eu_host_and_names_it(tmp_path):
    process = start_sandbox_process(tmp_path / "sandbox.sqlite3", "--seed-demo")
    try:
        headers = {"Authorization": f"Bearer {process.api_key}"}
        listed = requests.get(
            process.url + "/v3/subusers", params={"include_region": "true"}, headers=headers,
            timeout=5,
        ).json()  # fmt: skip
        [eu] = [s["username"] for s in listed if s["region"] == "eu"]
        bounces = requests.get(
            process.eu_url + BOUNCES, headers={**headers, "on-behalf-of": eu}, timeout=5
        )
        assert process.eu_url.startswith("http://127.0.0.1:") and process.eu_url != process.url
        assert bounces.status_code == 200 and bounces.json()
        assert process.api_key not in process.banner
    finally:
        assert process.stop() == 0
