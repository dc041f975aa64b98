"""The sandbox's Event Webhook settings (`/v3/user/webhooks/event/settings...`) over loopback HTTP,
each answer checked against SendGrid's OpenAPI file for them."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bounceadmin.sandbox import SandboxServer, SandboxStore
from tests.support.openapi import WEBHOOKS, assert_matches_spec

SETTINGS = "/v3/user/webhooks/event/settings"
INVALID_ID = {"errors": [{"message": "Invalid id provided."}]}
HOOK = "https://hooks.example.com/sendgrid"


def call(
    sandbox: SandboxServer,
    method: str,
    path: str = "",
    body: Any = None,
    subuser: str | None = "acme",
    **params: str,
) -> requests.Response:
    return requests.request(
        method,
        sandbox.url + SETTINGS + path,
        headers=sandbox.headers(subuser),
        json=body,
        params=params,
        timeout=5,
    )


def create(sandbox: SandboxServer, subuser: str | None = "acme", **fields: Any) -> dict[str, Any]:
    resp = call(sandbox, "POST", body={"url": HOOK, "enabled": True, **fields}, subuser=subuser)
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture(autouse=True)
def subusers(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser("acme")
    sandbox.store.add_subuser("globex")


def test_webhook_create_get_list_update_delete_match_spec(sandbox: SandboxServer) -> None:
    made = call(sandbox, "POST", body={"url": HOOK, "enabled": True, "bounce": True})
    assert made.status_code == 201
    assert_matches_spec(WEBHOOKS, made)
    hook = made.json()
    assert (hook["url"], hook["enabled"], hook["bounce"], hook["dropped"]) == (
        HOOK,
        True,
        True,
        False,
    )
    assert "public_key" not in hook  # signing is off until turned on by its own call
    assert hook["created_date"].endswith("Z")

    listed = call(sandbox, "GET", "/all")
    assert_matches_spec(WEBHOOKS, listed)
    assert listed.json()["max_allowed"] == 5
    assert [w["id"] for w in listed.json()["webhooks"]] == [hook["id"]]

    one = call(sandbox, "GET", f"/{hook['id']}")
    assert_matches_spec(WEBHOOKS, one)
    assert one.json()["id"] == hook["id"]
    assert "created_date" not in one.json()  # EventWebhookNoDatesResponse

    changed = call(sandbox, "PATCH", f"/{hook['id']}", {"friendly_name": "Bounces", "open": True})
    assert changed.status_code == 200
    assert_matches_spec(WEBHOOKS, changed)
    assert changed.json()["friendly_name"] == "Bounces"
    assert (changed.json()["open"], changed.json()["bounce"], changed.json()["url"]) == (
        True,
        True,
        HOOK,
    )  # a partial update: what was not sent stays

    gone = call(sandbox, "DELETE", f"/{hook['id']}")
    assert gone.status_code == 204
    assert_matches_spec(WEBHOOKS, gone)
    assert call(sandbox, "GET", "/all").json() == {"max_allowed": 5, "webhooks": []}


def test_webhook_oauth_fields_show_once_set_and_never_the_secret(sandbox: SandboxServer) -> None:
    plain = create(sandbox)
    assert "oauth_client_id" not in plain
    oauth = {
        "oauth_client_id": "a835e7210bbb47edbfa71bdfc909b2d7",
        "oauth_client_secret": "335a9b0c65324fd2a62e2953d4b158",
        "oauth_token_url": "https://oauthservice.example.com",
    }
    changed = call(sandbox, "PATCH", f"/{plain['id']}", oauth)
    assert_matches_spec(WEBHOOKS, changed)
    assert changed.json()["oauth_token_url"] == oauth["oauth_token_url"]
    assert oauth["oauth_client_secret"] not in changed.text + call(sandbox, "GET", "/all").text


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "hooks.example.com/x", "", "http://"])
def test_webhook_url_that_is_not_http_is_400(sandbox: SandboxServer, url: str) -> None:
    resp = call(sandbox, "POST", body={"url": url, "bounce": True})

    assert resp.status_code == 400
    assert_matches_spec(WEBHOOKS, resp)
    assert resp.json() == {"errors": [{"message": f"'{url}' is not a valid url"}]}


def test_webhook_url_in_use_by_the_same_account_is_400(sandbox: SandboxServer) -> None:
    first = create(sandbox)
    other = create(sandbox, url=HOOK + "/other")

    again = call(sandbox, "POST", body={"url": HOOK})
    moved = call(sandbox, "PATCH", f"/{other['id']}", {"url": HOOK})

    message = f"Webhook at '{HOOK}' already exists. Please provide a unique URL."
    expected = {"errors": [{"id": first["id"], "message": message, "url": HOOK}]}
    for resp in (again, moved):
        assert resp.status_code == 400
        assert_matches_spec(WEBHOOKS, resp)
        assert resp.json() == expected
    assert call(sandbox, "PATCH", f"/{first['id']}", {"url": HOOK}).status_code == 200  # itself
    assert create(sandbox, "globex")["url"] == HOOK  # another account may use it


def test_webhook_beyond_max_allowed_is_400(sandbox: SandboxServer) -> None:
    for i in range(5):
        create(sandbox, url=f"{HOOK}/{i}")

    refused = call(sandbox, "POST", body={"url": HOOK + "/5"})

    assert refused.status_code == 400
    assert_matches_spec(WEBHOOKS, refused)
    assert refused.json() == {
        "errors": [
            {
                "message": "You have reached the maximum number of webhooks per your current "
                "billing plan."
            }
        ]
    }
    create(sandbox, "globex")  # the cap is per account
    # The control changes the cap for every account.
    set_cap = requests.post(
        sandbox.url + "/_sandbox/webhooks/config", json={"max_allowed": 6}, timeout=5
    )
    assert set_cap.json()["max_allowed"] == 6
    assert call(sandbox, "GET", "/all").json()["max_allowed"] == 6
    create(sandbox, url=HOOK + "/5")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/{id}", None),
        ("PATCH", "/{id}", {"enabled": False}),
        ("DELETE", "/{id}", None),
        ("GET", "/signed/{id}", None),
        ("PATCH", "/signed/{id}", {"enabled": True}),
    ],
)
def test_webhook_unknown_or_foreign_id_is_404(
    sandbox: SandboxServer, method: str, path: str, body: Any
) -> None:
    foreign = create(sandbox, "globex")["id"]
    for webhook_id in ("77d4a5da-7015-11ed-a1eb-0242ac120002", foreign):
        resp = call(sandbox, method, path.format(id=webhook_id), body)
        assert resp.status_code == 404
        assert_matches_spec(WEBHOOKS, resp)
        assert resp.json() == INVALID_ID
    assert call(sandbox, "GET", f"/{foreign}", subuser="globex").status_code == 200


def test_webhook_accounts_see_only_their_own(sandbox: SandboxServer) -> None:
    acme = create(sandbox, "acme")
    globex = create(sandbox, "globex", url=HOOK + "/globex")
    parent = create(sandbox, None, url=HOOK + "/parent")

    def ids(subuser: str | None) -> list[str]:
        return [w["id"] for w in call(sandbox, "GET", "/all", subuser=subuser).json()["webhooks"]]

    assert ids("acme") == [acme["id"]]
    assert ids("globex") == [globex["id"]]
    assert ids(None) == [parent["id"]]
    assert call(sandbox, "GET", f"/{acme['id']}", subuser=None).json() == INVALID_ID
    assert call(sandbox, "DELETE", f"/{parent['id']}", subuser="acme").status_code == 404
    # As on the other endpoints: an unknown or disabled subuser is refused.
    sandbox.store.add_subuser("gone", disabled=True)
    for name in ("nobody", "gone"):
        assert call(sandbox, "GET", "/all", subuser=name).status_code == 403


def test_webhook_signing_on_publishes_a_p256_key_in_sendgrid_format(
    sandbox: SandboxServer,
) -> None:
    hook = create(sandbox)
    path = f"/signed/{hook['id']}"
    assert call(sandbox, "GET", path).json() == {"id": hook["id"], "public_key": ""}

    on = call(sandbox, "PATCH", path, {"enabled": True})

    assert on.status_code == 200
    assert_matches_spec(WEBHOOKS, on)
    key_text = on.json()["public_key"]
    # Base64 of the DER SubjectPublicKeyInfo: loadable as is, and as SendGrid's libraries do,
    # wrapped in PEM lines.
    key = serialization.load_der_public_key(base64.b64decode(key_text))
    pem = f"-----BEGIN PUBLIC KEY-----\n{key_text}\n-----END PUBLIC KEY-----\n".encode()
    assert serialization.load_pem_public_key(pem) == key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert key_text.startswith("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")  # SendGrid's keys do too

    got = call(sandbox, "GET", path)
    assert_matches_spec(WEBHOOKS, got)
    assert got.json() == on.json()
    listed = call(sandbox, "GET", "/all").json()["webhooks"][0]
    assert listed["public_key"] == key_text
    assert call(sandbox, "GET", f"/{hook['id']}").json()["public_key"] == key_text

    off = call(sandbox, "PATCH", path, {"enabled": False})
    assert off.json() == {"id": hook["id"], "public_key": ""}
    assert "public_key" not in call(sandbox, "GET", "/all").json()["webhooks"][0]
    # The key pair is made once: signing on again publishes the same key.
    assert call(sandbox, "PATCH", path, {"enabled": True}).json()["public_key"] == key_text


def test_webhook_signed_without_an_id_means_the_oldest(sandbox: SandboxServer) -> None:
    assert call(sandbox, "GET", "/signed").json() == INVALID_ID  # none yet
    first = create(sandbox)
    create(sandbox, url=HOOK + "/2")

    on = call(sandbox, "PATCH", "/signed", {"enabled": True})

    assert on.json()["id"] == first["id"]
    assert on.json()["public_key"]
    assert call(sandbox, "GET", "/signed").json() == on.json()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "", b"not json"),
        ("POST", "", b"[]"),
        ("POST", "", b'{"url": "https://x.example", "bounce": "yes"}'),
        ("PATCH", "/{id}", b'{"enabled": 1}'),
        ("PATCH", "/signed/{id}", b"{}"),
    ],
)
def test_webhook_bad_bodies_are_400(
    sandbox: SandboxServer, method: str, path: str, body: bytes
) -> None:
    hook = create(sandbox)
    headers = {**sandbox.headers("acme"), "Content-Type": "application/json"}

    resp = requests.request(
        method,
        sandbox.url + SETTINGS + path.format(id=hook["id"]),
        data=body,
        headers=headers,
        timeout=5,
    )

    assert resp.status_code == 400
    assert list(resp.json()["errors"][0]) == ["message"]
    assert call(sandbox, "GET", f"/{hook['id']}").json()["enabled"] is True  # unchanged


def test_webhook_endpoints_need_the_key(sandbox: SandboxServer) -> None:
    resp = requests.get(sandbox.url + SETTINGS + "/all", timeout=5)

    assert resp.status_code == 401
    assert resp.json() == {"errors": [{"field": None, "message": "authorization required"}]}


def test_webhook_account_status_change_only_when_included(sandbox: SandboxServer) -> None:
    hook = create(sandbox, account_status_change=True)
    assert "account_status_change" not in call(sandbox, "GET", f"/{hook['id']}").json()

    included = call(sandbox, "GET", f"/{hook['id']}", include="account_status_change")

    assert_matches_spec(WEBHOOKS, included)
    assert included.json()["account_status_change"] is True


def test_webhook_settings_and_keys_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.sqlite3"
    store = SandboxStore(data)
    store.add_subuser("acme")
    with SandboxServer(store) as first:
        hook = create(first)
        key = call(first, "PATCH", f"/signed/{hook['id']}", {"enabled": True}).json()
    store.close()

    store = SandboxStore(data)
    try:
        with SandboxServer(store) as second:
            assert call(second, "GET", f"/signed/{hook['id']}").json() == key
            assert call(second, "GET", "/all").json()["webhooks"][0]["url"] == HOOK
    finally:
        store.close()
