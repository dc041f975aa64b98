"""The client's Event Webhook settings calls, against the sandbox over HTTP."""

import logging

import pytest

from bounceadmin.sendgrid.errors import BadRequest, NotFound, WebhookLimitReached
from bounceadmin.webhooks.signature import load_public_key
from tests.support.sandbox_webhooks import sandbox_max_webhooks, webhook_calls

URL = "https://dashboard.example/webhooks/sendgrid/abc/"


@pytest.fixture
def acme(sandbox):
    sandbox.store.add_subuser("acme")
    sandbox.store.add_subuser("globex")
    return "acme"


def settings(url=URL, **events):
    return {"enabled": True, "url": url, "friendly_name": "bounceadmin", "bounce": True,
            "dropped": True, **events}  # fmt: skip


def test_create_list_and_update_a_subusers_webhook(sandbox, sg, acme):
    assert sg.list_event_webhooks("acme").webhooks == []

    created = sg.create_event_webhook("acme", settings())
    listed = sg.list_event_webhooks("acme")
    updated = sg.update_event_webhook("acme", created.id, {"url": URL, "deferred": True})

    assert created.id and created.url == URL and created.enabled
    assert created.events == {"bounce", "dropped"} and created.friendly_name == "bounceadmin"
    assert isinstance(listed.max_allowed, int) and listed.webhooks == [created]
    assert updated.id == created.id and updated.events == {"bounce", "deferred", "dropped"}
    assert {r["on_behalf_of"] for r in webhook_calls(sandbox)} == {"acme"}


def test_each_subuser_has_its_own_webhooks(sandbox, sg, acme):
    created = sg.create_event_webhook("acme", settings())

    assert sg.list_event_webhooks("globex").webhooks == []
    with pytest.raises(NotFound):
        sg.get_event_webhook_public_key("globex", created.id)


def test_signing_on_returns_the_key_the_signed_get_then_gives(sandbox, sg, acme):
    created = sg.create_event_webhook("acme", settings())
    assert sg.get_event_webhook_public_key("acme", created.id) == ""

    key = sg.set_event_webhook_signing("acme", created.id, True)

    load_public_key(key)  # a P-256 public key, as SendGrid's
    assert sg.get_event_webhook_public_key("acme", created.id) == key
    assert sg.list_event_webhooks("acme").webhooks[0].public_key == key
    patch = webhook_calls(sandbox, "PATCH")[-1]
    assert patch["path"].endswith(f"/signed/{created.id}") and patch["body"] == {"enabled": True}


def test_the_plans_cap_is_a_typed_error(sandbox, sg, acme, caplog):
    sandbox_max_webhooks(sandbox, 1)
    sg.create_event_webhook("acme", settings())
    caplog.set_level(logging.DEBUG)

    with pytest.raises(WebhookLimitReached) as raised:
        sg.create_event_webhook("acme", settings(url=URL + "other/"))

    assert isinstance(raised.value, BadRequest) and raised.value.status == 400
    assert "maximum number of webhooks" in str(raised.value)
    assert sandbox.api_key not in str(raised.value) and sandbox.api_key not in caplog.text
    assert sg.list_event_webhooks("acme").max_allowed == 1


def test_another_400_is_not_the_cap(sandbox, sg, acme):
    sg.create_event_webhook("acme", settings())

    with pytest.raises(BadRequest) as raised:  # the same URL twice
        sg.create_event_webhook("acme", settings())

    assert not isinstance(raised.value, WebhookLimitReached)
