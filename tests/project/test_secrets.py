"""The API key never appears in a page, a log line or an error."""

import logging

import pytest

from bounceadmin.bounces.models import Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

SECRET = "SG.TOP-SECRET-KEY-never-show-me"


@pytest.mark.parametrize("fault", [{"status": 401}, {"status": 503, "count": 20}, {"status": 400}])
def test_api_key_stays_out_of_errors_logs_and_pages(upstream, client, settings, caplog, fault):
    upstream.store.add_subuser("alpha")
    subusers_sync()
    settings.SENDGRID_MAX_RETRIES = 1
    settings.SENDGRID_API_KEY = SECRET  # the sandbox refuses it: 401
    if fault["status"] != 401:
        settings.SENDGRID_API_KEY = upstream.api_key
        upstream.inject_fault("status", **{"count": 1, **fault})
    caplog.set_level(logging.DEBUG)

    run = bounces_refresh(subuser=Subuser.objects.get(username="alpha"), full=True)
    client.force_login(make_user("ops", role="admin", is_staff=True))
    pages = [client.get(url).content.decode() for url in
             ("/", "/refreshes/", "/audit/", "/admin/bounces/refreshrun/")]  # fmt: skip

    assert run.outcome == "failed" and run.error
    for text in (run.error, caplog.text, *pages):
        assert SECRET not in text and upstream.api_key not in text
    assert "Bearer" not in caplog.text
