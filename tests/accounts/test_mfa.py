"""The second factor: the sign-in's code step, the skew window, codes used once, recovery codes,
enrolment, resets, and what each writes to the audit log."""

import time

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from bounceadmin.accounts.login import PENDING
from bounceadmin.accounts.mfa.services import factor_check
from bounceadmin.accounts.mfa.session import CHECKED
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_subuser, make_user
from tests.support.totp import code_for, give_factor, key_of_secret, steady_step

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-1"


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    """django-otp waits longer after each wrong code; the throttle's own test turns it on."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    steady_step()


@pytest.fixture
def olga():
    user = make_user("olga", PASSWORD, role="approver")
    device, codes = give_factor(user)
    return user, device, codes


def password_step(client, next_url=""):
    data = {"username": "olga", "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def code_step(client, code):
    return client.post("/accounts/login/code/", {"code": code})


def events(action):
    return AuditEvent.objects.filter(action=action)


def test_login_asks_for_the_code_after_the_password_and_signs_in_only_then(client, olga):
    user, device, _ = olga

    response = password_step(client, next_url="/deletions/")

    assert response.status_code == 302 and response.url == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # nothing reachable yet
    assert not events("auth.login").exists()
    page = client.get("/accounts/login/code/")
    assert page.status_code == 200 and "olga" in page.content.decode()

    response = code_step(client, code_for(device.key))

    assert response.status_code == 302 and response.url == "/deletions/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert PENDING not in client.session and CHECKED in client.session
    login = events("auth.login").get()
    assert login.actor_name == "olga" and login.details == {"second_factor": "authenticator"}


def test_login_without_a_factor_is_one_step_as_before(client):
    make_user("olga", PASSWORD, role="approver")

    response = password_step(client)

    assert response.status_code == 302 and response.url == "/"
    assert "_auth_user_id" in client.session
    assert events("auth.login").get().details == {}


def test_a_wrong_code_signs_nobody_in_and_is_audited(client, olga):
    _, device, _ = olga
    password_step(client)

    response = code_step(client, "000000" if code_for(device.key) != "000000" else "111111")

    assert response.status_code == 200
    assert "not right, or was used already" in response.content.decode()
    assert "_auth_user_id" not in client.session
    failed = events("auth.mfa_failed").get()
    assert failed.actor_name == "olga" and failed.details["purpose"] == "sign-in"
    assert "code" not in str(failed.details).replace("recovery_codes", "")
    # the right code still works after a wrong one
    assert code_step(client, code_for(device.key)).status_code == 302


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_one_step_off_is_accepted(offset, olga):
    user, device, _ = olga
    assert factor_check(user=user, code=code_for(device.key, offset), purpose="t").factor


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_a_code_further_off_is_refused(offset, olga):
    user, device, _ = olga
    assert factor_check(user=user, code=code_for(device.key, offset), purpose="t").factor is None


def test_a_code_works_once(client, olga):
    _, device, _ = olga
    code = code_for(device.key)
    password_step(client)
    assert code_step(client, code).status_code == 302
    client.post("/accounts/logout/")

    password_step(client)
    replayed = code_step(client, code)

    assert replayed.status_code == 200 and "_auth_user_id" not in client.session
    # nor does a code of an earlier step, once a later one was used
    assert code_step(client, code_for(device.key, -1)).status_code == 200
    assert code_step(client, code_for(device.key, 1)).status_code == 302


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(client, olga):
    _, _, codes = olga
    password_step(client)

    response = code_step(client, codes[0].upper())  # typed in capitals: still the code

    assert response.status_code == 302
    used = events("auth.mfa_recovery_used").get()
    assert used.actor_name == "olga" and used.details["recovery_codes_left"] == 9
    assert events("auth.login").get().details == {"second_factor": "recovery code"}
    client.post("/accounts/logout/")
    password_step(client)
    assert code_step(client, codes[0]).status_code == 200
    assert "_auth_user_id" not in client.session


def test_wrong_codes_are_throttled(client, olga, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    _, device, _ = olga
    password_step(client)
    code_step(client, "000000" if code_for(device.key) != "000000" else "111111")

    response = code_step(client, code_for(device.key))  # right, but within the wait

    assert response.status_code == 200 and "Too many wrong codes" in response.content.decode()
    assert events("auth.mfa_failed").first().details["throttled"] is True  # the newest


def test_the_code_step_expires(client, olga):
    _, device, _ = olga
    password_step(client)
    session = client.session
    session[PENDING] = {**session[PENDING], "at": time.time() - 301}
    session.save()

    response = code_step(client, code_for(device.key))

    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_the_code_step_of_a_user_disabled_meanwhile_signs_nobody_in(client, olga):
    user, device, _ = olga
    password_step(client)
    user.is_active = False
    user.save()

    assert code_step(client, code_for(device.key)).url == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_the_code_step_needs_a_password_step(client):
    assert client.get("/accounts/login/code/").url == "/accounts/login/"
    assert client.post("/accounts/login/code/", {"code": "123456"}).url == "/accounts/login/"


def test_lockout_still_counts_password_failures_of_a_user_with_a_factor(client, olga, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post("/accounts/login/", {"username": "olga", "password": "guess"})

    assert password_step(client).status_code == 429
    assert PENDING not in client.session


def test_enrolment_shows_a_qr_code_and_the_key_and_sets_up_with_a_code(client):
    user = make_user("olga", PASSWORD, role="approver")
    client.force_login(user)

    page = client.get("/accounts/two-factor/setup/")

    body = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in body
    secret = page.context["secret"]
    assert secret in body and not TOTPDevice.objects.exists()  # nothing stored before the code
    key = key_of_secret(secret)
    assert client.get("/accounts/two-factor/setup/").context["secret"] == secret  # same key

    wrong = client.post("/accounts/two-factor/setup/", {"code": "12345x", "password": PASSWORD})
    assert "not right" in wrong.content.decode() and not TOTPDevice.objects.exists()
    bad_password = client.post(
        "/accounts/two-factor/setup/", {"code": code_for(key), "password": "nope"}
    )
    assert "not your password" in bad_password.content.decode()
    assert not TOTPDevice.objects.exists()

    done = client.post(
        "/accounts/two-factor/setup/",
        {"code": code_for(key, -1), "password": PASSWORD, "next": "/deletions/"},
    )

    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    text = done.content.decode()
    assert all(c in text for c in codes) and 'download="bounceadmin-recovery-codes.txt"' in text
    assert 'href="/deletions/"' in text
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed and device.key == key
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes)
    enrolled = events("auth.mfa_enrolled").get()
    assert enrolled.details == {
        "before": {"authenticator": False, "recovery_codes": 0},
        "after": {"authenticator": True, "recovery_codes": 10},
        "proof": ["password"],
    }
    assert CHECKED in client.session
    # the code that set it up is spent
    assert factor_check(user=user, code=code_for(key, -1), purpose="t").factor is None


def test_replacing_the_authenticator_needs_a_fresh_check(client, olga, settings):
    user, device, _ = olga
    client.force_login(user)  # no check in this session

    response = client.get("/accounts/two-factor/setup/")

    assert response.status_code == 302 and response.url.startswith("/accounts/two-factor/verify/")
    verified = client.post(response.url, {"code": code_for(device.key)})
    assert verified.url == "/accounts/two-factor/setup/"
    assert events("auth.mfa_verified").get().details == {"purpose": "check again"}
    key = key_of_secret(client.get("/accounts/two-factor/setup/").context["secret"])
    client.post("/accounts/two-factor/setup/", {"code": code_for(key), "password": PASSWORD})

    assert list(TOTPDevice.objects.filter(user=user).values_list("key", flat=True)) == [key]
    enrolled = events("auth.mfa_enrolled").get()
    assert enrolled.details["before"] == {"authenticator": True, "recovery_codes": 10}


def test_a_user_who_lost_the_app_resets_it_with_a_recovery_code(client, olga):
    user, device, codes = olga
    password_step(client)
    code_step(client, codes[3])

    response = client.post("/accounts/two-factor/remove/")

    assert response.url == "/accounts/two-factor/"
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.exists()
    reset = events("auth.mfa_reset").get()
    assert reset.actor_name == "olga" and reset.details == {
        "user": "olga",
        "before": {"authenticator": True, "recovery_codes": 9},
        "after": {"authenticator": False, "recovery_codes": 0},
    }


def test_new_recovery_codes_replace_the_old(client, olga):
    user, device, codes = olga
    password_step(client)
    code_step(client, code_for(device.key))

    page = client.post("/accounts/two-factor/recovery-codes/")

    new = page.context["codes"]
    assert len(new) == 10 and not set(new) & set(codes)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)
    renewed = events("auth.mfa_codes_renewed").first()  # the newest: give_factor made the first
    assert renewed.details["before"]["recovery_codes"] == 10 and renewed.actor_name == "olga"


def test_recovery_codes_and_removal_need_a_fresh_check(client, olga):
    user, _, _ = olga
    client.force_login(user)

    for url in ("/accounts/two-factor/recovery-codes/", "/accounts/two-factor/remove/"):
        response = client.post(url)
        assert response.url.startswith("/accounts/two-factor/verify/")
    assert TOTPDevice.objects.filter(user=user).exists()
    assert not events("auth.mfa_reset").exists()


def test_the_two_factor_pages_need_a_login(client):
    for url in ("/accounts/two-factor/", "/accounts/two-factor/setup/",
                "/accounts/two-factor/verify/"):  # fmt: skip
        assert client.get(url).url.startswith("/accounts/login/")


def test_the_overview_says_whether_the_role_needs_it(client, olga, settings):
    settings.MFA_REQUIRED_ROLES = ["approver", "admin"]
    user, _, _ = olga
    client.force_login(user)

    body = client.get("/accounts/two-factor/").content.decode()

    assert "Your authenticator is set up" in body and "Recovery codes left: <strong>10" in body
    assert "Your role needs it to approve or reject" in body


def test_verify_goes_back_only_to_this_site(client, olga):
    user, device, _ = olga
    client.force_login(user)

    response = client.post(
        "/accounts/two-factor/verify/?next=https://evil.example/", {"code": code_for(device.key)}
    )

    assert response.url == "/accounts/two-factor/"


def test_an_admin_resets_an_operators_factor_in_django_admin(client, olga):
    user, _, _ = olga
    admin = make_user("ada", PASSWORD, role="admin", is_staff=True)
    client.force_login(admin)

    response = client.post(
        "/admin/auth/user/",
        {"action": "reset_second_factor", "_selected_action": [user.pk]},
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    reset = events("auth.mfa_reset").get()
    assert reset.actor_name == "ada" and reset.details["user"] == "olga"
    assert reset.details["before"] == {"authenticator": True, "recovery_codes": 10}
    assert reset.details["after"] == {"authenticator": False, "recovery_codes": 0}


def test_an_admin_resets_only_operators_within_reach(client, olga):
    """An admin of some subusers does not reach an operator who sees all (delegation.py)."""
    other = make_user("adele", PASSWORD, role="approver")
    give_factor(other)
    admin = make_user("ada", PASSWORD, role="admin", is_staff=True,
                      subusers=[make_subuser("acme")])  # fmt: skip
    client.force_login(admin)

    client.post("/admin/auth/user/", {"action": "reset_second_factor",
                                      "_selected_action": [other.pk]})  # fmt: skip

    assert TOTPDevice.objects.filter(user=other).exists()
    assert not events("auth.mfa_reset").exists()


def test_django_otp_device_admins_are_not_offered(admin_client):
    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_misspelt_roles_and_a_zero_window_stop_the_start(settings):
    from bounceadmin.accounts.checks import mfa_settings_check

    settings.MFA_REQUIRED_ROLES = ["approvers", "admin"]
    settings.MFA_REAUTH_MINUTES = 0

    assert [e.id for e in mfa_settings_check()] == ["accounts.E001", "accounts.E002"]
    settings.MFA_REQUIRED_ROLES, settings.MFA_REAUTH_MINUTES = ["approver"], 15
    assert mfa_settings_check() == []


def test_single_sign_on_half_configured_stops_the_start_naming_no_secret(settings):
    from bounceadmin.accounts.checks import mfa_settings_check

    settings.OIDC_ISSUER = "https://id.example"
    settings.OIDC_CLIENT_SECRET = "s3cret-value"
    settings.LOCAL_LOGIN = False
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = {"ops": "approvers"}

    errors = mfa_settings_check()

    assert [e.id for e in errors] == ["accounts.E003", "accounts.E004", "accounts.E006"]
    assert "OIDC_CLIENT_ID missing" in errors[0].msg
    assert all("s3cret-value" not in e.msg + (e.hint or "") for e in errors)
    settings.OIDC_CLIENT_ID, settings.OIDC_ROLE_MAP = "bounceadmin", {"ops": "approver"}
    assert mfa_settings_check() == []
    settings.OIDC_ROLE_MAP = {}
    assert [e.id for e in mfa_settings_check()] == ["accounts.E005"]


def test_django_admin_signs_in_through_the_apps_login_and_its_code_step(client, olga):
    response = client.get("/admin/login/?next=/admin/auth/user/")

    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/admin/auth/user/"
    assert client.post("/admin/login/", {"username": "olga", "password": PASSWORD}).url.startswith(
        "/accounts/login/"
    )
    assert "_auth_user_id" not in client.session
