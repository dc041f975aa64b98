import time

import pytest

from bounceadmin.bounces.models import Bounce, Subuser
from bounceadmin.bounces.refresh import bounces_refresh
from bounceadmin.bounces.subusers import subusers_sync
from tests.support.browser import log_in
from tests.support.factories import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ADDRESS = "stale.block@example.com"


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def test_browser_request_approve_push_through_a_real_worker(
    live_server,
    browser,
    upstream,
    sg,
    celery_worker_process,
):
    upstream.store.add_subuser("alpha")
    upstream.store.add_bounces("alpha", [
        {"email": ADDRESS, "status": "5.7.1", "reason": "554 5.7.1 blocked using zen.spamhaus.org",
         "created": 1_700_000_000},
        {"email": "keep@example.com", "status": "5.1.1", "reason": "550 5.1.1 unknown",
         "created": 1_700_000_001},
    ])  # fmt: skip
    subusers_sync()
    bounces_refresh(subuser=Subuser.objects.get(username="alpha"), full=True, client=sg)
    make_user("rita", "rita-password-123", role="requester")
    make_user("arne", "arne-password-123", role="approver")
    bounce = Bounce.objects.get(email=ADDRESS)

    # the requester asks
    requester = browser.new_context().new_page()
    log_in(requester, live_server, "rita", "rita-password-123")
    requester.goto(f"{live_server.url}/bounces/{bounce.pk}/")
    requester.get_by_role("button", name="Request deletion").click()
    requester.get_by_label("Justification").fill("IP delisted from Spamhaus, INC-42")
    requester.get_by_label("Ticket reference").fill("INC-42")
    requester.get_by_role("button", name="Submit request").click()
    requester.wait_for_url("**/deletions/*/")
    assert "Pending approval" in requester.content()
    # four-eyes: the requester is offered no Approve button
    assert requester.get_by_role("link", name="Approve", exact=False).count() == 0

    # the approver approves from the queue
    approver = browser.new_context().new_page()
    log_in(approver, live_server, "arne", "arne-password-123")
    approver.get_by_role("link", name="Deletions").click()
    assert ADDRESS in approver.locator(".pending-group").inner_text()
    approver.get_by_role("link", name="Approve request", exact=False).first.click()
    approver.wait_for_url("**/approve/*")
    assert ADDRESS in approver.locator("main").inner_text()  # what it removes, before the click
    approver.get_by_role("button", name="Approve and remove 1 address").click()
    approver.wait_for_url("**/deletions/")

    # the real worker pushes it upstream, on behalf of the subuser
    wait_for(lambda: {b["email"] for b in upstream.store.bounces("alpha")} == {"keep@example.com"})
    wait_for(lambda: Bounce.objects.get(pk=bounce.pk).removed_at is not None)
    [delete] = [r for r in upstream.requests if r["method"] == "DELETE"]
    assert delete["on_behalf_of"] == "alpha"

    # the audit page shows both people and the address
    approver.goto(f"{live_server.url}/audit/?address={ADDRESS}")
    trail = approver.locator("main").inner_text()
    assert "rita" in trail and "arne" in trail and ADDRESS in trail
    assert "Deletion requested" in trail and "Deletion approved" in trail

    def pushed_on_audit_page():
        approver.reload()
        return "Deletion pushed upstream" in approver.locator("main").inner_text()

    wait_for(pushed_on_audit_page)
