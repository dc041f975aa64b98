"""Login throttling and the audit behind HTTPS proxies: keyed on the real client's address,
never on the proxy's, never on what the client wrote into X-Forwarded-For."""

import pytest

from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"  # our reverse proxy: every request arrives from it
ALICE, MALLORY = "81.2.69.142", "91.198.174.192"


@pytest.fixture(autouse=True)
def behind_proxy(settings):
    settings.BEHIND_HTTPS = True
    settings.PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3
    make_user("olga", "the-right-password-1")


def login(client, password, forwarded, username="olga"):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_lockout_behind_proxy_locks_only_the_guessing_address(client):
    for _ in range(3):
        login(client, "guess", forwarded=MALLORY)
    assert login(client, "the-right-password-1", forwarded=MALLORY).status_code == 429

    response = login(client, "the-right-password-1", forwarded=ALICE)

    assert response.status_code == 302  # the operator, through the same proxy, still gets in


def test_lockout_behind_proxy_ignores_addresses_the_client_writes(client):
    # Mallory claims to be Alice: the proxy appends the address it really saw.
    for _ in range(3):
        login(client, "guess", forwarded=f"{ALICE}, {MALLORY}")

    assert login(client, "the-right-password-1", forwarded=ALICE).status_code == 302
    assert login(client, "guess", forwarded=MALLORY).status_code == 429


def test_lockout_behind_two_proxies_trusts_exactly_two(client, settings):
    settings.PROXY_COUNT = 2
    cdn = "198.51.100.7"
    for _ in range(3):
        login(client, "guess", forwarded=f"{ALICE}, {MALLORY}, {cdn}")

    assert login(client, "guess", forwarded=f"{MALLORY}, {cdn}").status_code == 429
    assert login(client, "the-right-password-1", forwarded=f"{ALICE}, {cdn}").status_code == 302


def test_audit_records_the_address_the_lockout_keys_on(client):
    login(client, "guess", forwarded=f"{ALICE}, {MALLORY}")
    login(client, "the-right-password-1", forwarded=ALICE)

    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.source_ip == MALLORY and failed.details["username"] == "olga"
    assert AuditEvent.objects.get(action="auth.login").source_ip == ALICE


def test_audit_without_proxy_ignores_forwarded_header(client, settings):
    settings.BEHIND_HTTPS = False
    login(client, "guess", forwarded=ALICE)

    assert AuditEvent.objects.get(action="auth.login_failed").source_ip == PROXY


def test_username_spray_records_a_bounded_number_of_failures(client, settings):
    settings.LOGIN_FAILURE_AUDIT_PER_HOUR = 5
    for n in range(120):
        login(client, "guess", forwarded=MALLORY, username=f"user{n}")

    failed = list(AuditEvent.objects.filter(action="auth.login_failed").order_by("id"))
    names = [event.details["username"] for event in failed]
    assert names == ["user0", "user1", "user2", "user3", "user4", "user9", "user99"]
    assert failed[-1].details["failures_from_address_this_hour"] == 100
    assert "failures_from_address_this_hour" not in failed[0].details


def test_username_spray_from_many_addresses_is_bounded_overall(client, settings):
    settings.LOGIN_FAILURE_AUDIT_PER_HOUR = 2
    for n in range(60):
        login(client, "guess", forwarded=f"81.2.69.{n + 1}", username=f"user{n}")

    # One failure per address would be 60 events; all addresses together stop at 10 x 2.
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 20


def test_one_noisy_address_does_not_hide_another_addresses_guesses(client, settings):
    settings.LOGIN_FAILURE_AUDIT_PER_HOUR = 5
    for n in range(60):
        login(client, "guess", forwarded=MALLORY, username=f"noise{n}")
    for _ in range(3):
        login(client, "guess", forwarded=ALICE, username="olga")

    guesses = AuditEvent.objects.filter(action="auth.login_failed", details__username="olga")
    assert guesses.count() == 3 and {e.source_ip for e in guesses} == {ALICE}


def test_a_client_reaching_the_app_directly_cannot_choose_its_address(client):
    # Not from a trusted proxy: the header is the client's own claim.
    for _ in range(3):
        client.post("/accounts/login/", {"username": "olga", "password": "guess"},
                    REMOTE_ADDR="198.51.100.23", HTTP_X_FORWARDED_FOR=ALICE)  # fmt: skip

    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert {e.source_ip for e in failed} == {"198.51.100.23"}
    assert login(client, "the-right-password-1", forwarded=ALICE).status_code == 302
