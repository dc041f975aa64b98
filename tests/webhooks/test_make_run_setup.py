"""`make run` on the sandbox: after the start-up subuser sync, every subuser's webhook set-up is
queued to post to the local dashboard; with a real SendGrid key, nothing is (the operator runs
`webhooks_setup` with their public URL)."""

import pytest
from django.core.management import call_command

from bounceadmin.bounces import tasks as bounce_tasks
from bounceadmin.webhooks import services
from bounceadmin.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(monkeypatch):
    """What refresh_on_start hands the broker."""
    sent = []
    monkeypatch.setattr(bounce_tasks.sync_and_refresh, "delay", lambda **kw: sent.append(kw))
    return sent


def test_on_the_sandbox_start_up_sets_webhooks_to_the_local_dashboard(started, settings):
    settings.SENDGRID_SANDBOX, settings.WEB_PORT, settings.WEBHOOK_PUBLIC_URL = True, 8123, ""

    call_command("refresh_on_start")

    assert started == [{"full": True, "webhooks_url": "http://127.0.0.1:8123"}]


def test_webhook_public_url_wins_over_the_local_port(started, settings):
    settings.SENDGRID_SANDBOX, settings.WEBHOOK_PUBLIC_URL = True, "https://tunnel.example"

    call_command("refresh_on_start")

    assert started == [{"full": True, "webhooks_url": "https://tunnel.example"}]


def test_with_a_real_key_start_up_sets_no_webhook_up(started, settings):
    settings.SENDGRID_SANDBOX = False

    call_command("refresh_on_start")

    assert started == [{"full": True, "webhooks_url": ""}]


def test_sync_then_queues_each_refreshable_subusers_set_up(
    upstream, monkeypatch, django_capture_on_commit_callbacks
):
    upstream.store.add_subuser("alpha")
    upstream.store.add_subuser("beta")
    upstream.store.add_subuser("off", disabled=True)
    sent = []
    monkeypatch.setattr(services, "publish", lambda task, *args: sent.append((task.name, args)))
    monkeypatch.setattr(bounce_tasks, "refresh_all", lambda full: 0)

    with django_capture_on_commit_callbacks(execute=True):
        bounce_tasks.sync_and_refresh.run(full=True, webhooks_url="http://127.0.0.1:8123")

    queued = WebhookEndpoint.objects.exclude(setup_queued_at=None)
    assert sorted(queued.values_list("subuser__username", flat=True)) == ["alpha", "beta"]
    assert sorted(args[1:3] for _, args in sent) == [("http://127.0.0.1:8123", False)] * 2
