"""Operators with the admin role manage operators in Django admin only within the product's roles
and their own scope; every change to an operator is audited with before and after."""

import json
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bounceadmin.accounts.services import operator_save
from bounceadmin.audit.models import AuditEvent

from .adminforms import submit
from .factories import make_subuser, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
USERS = "/admin/auth/user/"
User = get_user_model()


@pytest.fixture
def world(client):
    """ada: admin of alpha and beta, signed in. vic is within her scope; otto (gamma), abby (all
    subusers) and root (superuser) are not."""
    alpha, beta, gamma = make_subuser("alpha"), make_subuser("beta"), make_subuser("gamma")
    root = User.objects.create_superuser("root", "root@x.test", PASSWORD)
    operator_save(username="ada", role="admin", subusers=["alpha", "beta"], password=PASSWORD)
    ada = User.objects.get(username="ada")
    vic = make_user("vic", role="viewer", subusers=[alpha])
    otto = make_user("otto", role="approver", subusers=[gamma])
    abby = make_user("abby", role="viewer")
    client.force_login(ada)
    return SimpleNamespace(alpha=alpha, beta=beta, gamma=gamma, root=root, ada=ada, vic=vic,
                           otto=otto, abby=abby)  # fmt: skip


def events_about(username: str, after: int) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(pk__gt=after).order_by("pk")
    return [e for e in events if e.details.get("operator") == username]


def last_event_id() -> int:
    last = AuditEvent.objects.order_by("-pk").first()
    return last.pk if last else 0


# --- the audit of operator changes -----------------------------------------------------------


def test_superuser_flag_changes_are_audited_with_before_and_after(client, world):
    client.force_login(world.root)
    mark = last_event_id()

    submit(client, f"{USERS}{world.vic.pk}/change/", is_superuser=True, is_staff=True)

    [event] = events_about("vic", mark)
    assert event.action == AuditEvent.Action.OPERATOR_CHANGED
    assert event.actor_name == "root"
    assert event.details["before"] == {"is_superuser": False, "is_staff": False}
    assert event.details["after"] == {"is_superuser": True, "is_staff": True}


def test_password_set_in_admin_is_audited_without_the_hash(client, world):
    mark = last_event_id()

    response = client.post(
        f"{USERS}{world.vic.pk}/password/",
        {"password1": "a-new-password-42", "password2": "a-new-password-42",
         "usable_password": "true"},
    )  # fmt: skip

    world.vic.refresh_from_db()
    assert response.status_code == 302 and world.vic.check_password("a-new-password-42")
    [event] = events_about("vic", mark)
    assert event.actor_name == "ada"
    assert event.details["password"] == "set by ada"
    assert world.vic.password not in json.dumps(event.details)
    assert "a-new-password-42" not in json.dumps(event.details)


def test_user_deleted_in_admin_is_audited_with_its_last_state(client, world):
    client.force_login(world.root)
    mark = last_event_id()

    client.post(f"{USERS}{world.vic.pk}/delete/", {"post": "yes"})

    [event] = events_about("vic", mark)
    assert not User.objects.filter(username="vic").exists()
    assert event.actor_name == "root" and event.details["deleted"] is True
    assert (event.details["before"]["role"], event.details["before"]["subusers"]) == (
        "viewer", ["alpha"],
    )  # fmt: skip


def test_add_operator_password_for_an_existing_user_is_audited(world, monkeypatch):
    monkeypatch.setenv("OPERATOR_PASSWORD", "a-reset-password-42")
    mark = last_event_id()

    call_command("add_operator", "vic", "--role", "viewer", "--subuser", "alpha")

    [event] = events_about("vic", mark)
    assert event.action == AuditEvent.Action.OPERATOR_CHANGED
    assert event.details == {
        "operator": "vic", "before": {}, "after": {}, "password": "set by system",
    }  # fmt: skip
