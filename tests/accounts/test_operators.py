import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from bounceadmin.accounts.roles import role_of
from bounceadmin.accounts.scoping import visible_subusers
from bounceadmin.audit.models import AuditEvent
from tests.support.factories import make_subuser

pytestmark = pytest.mark.django_db


def test_add_operator_creates_with_role_scope_and_password(monkeypatch):
    make_subuser("alpha")
    make_subuser("beta")
    monkeypatch.setenv("OPERATOR_PASSWORD", "a-long-password-42")

    call_command("add_operator", "alice", "--role", "approver", "--subuser", "alpha")

    user = get_user_model().objects.get(username="alice")
    assert user.check_password("a-long-password-42") and role_of(user) == "approver"
    assert [s.username for s in visible_subusers(user)] == ["alpha"]
    assert not user.is_staff


def test_add_operator_updates_role_and_widens_scope(monkeypatch):
    make_subuser("alpha")
    make_subuser("beta")
    monkeypatch.setenv("OPERATOR_PASSWORD", "a-long-password-42")
    call_command("add_operator", "alice", "--role", "viewer", "--subuser", "alpha")
    before = AuditEvent.objects.count()

    call_command("add_operator", "alice", "--role", "admin", "--keep-password")

    user = get_user_model().objects.get(username="alice")
    assert user.check_password("a-long-password-42")
    assert role_of(user) == "admin" and user.is_staff
    assert {s.username for s in visible_subusers(user)} == {"alpha", "beta"}
    changes = list(AuditEvent.objects.order_by("id")[before:].values_list("action", "details"))
    # One event for the whole change, with what changed before and after.
    assert changes == [
        ("operator.role_changed", {
            "operator": "alice",
            "before": {"role": "viewer", "is_staff": False, "all_subusers": False,
                       "subusers": ["alpha"]},
            "after": {"role": "admin", "is_staff": True, "all_subusers": True, "subusers": []},
        }),
    ]  # fmt: skip


def test_add_operator_rejects_unknown_subuser_and_role(monkeypatch):
    monkeypatch.setenv("OPERATOR_PASSWORD", "a-long-password-42")

    with pytest.raises(CommandError, match="Unknown subuser"):
        call_command("add_operator", "bob", "--role", "viewer", "--subuser", "ghost")
    with pytest.raises(CommandError):
        call_command("add_operator", "bob", "--role", "superhero")


def test_add_operator_without_password_source_fails_clearly(monkeypatch):
    monkeypatch.delenv("OPERATOR_PASSWORD", raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt: (_ for _ in ()).throw(EOFError))

    with pytest.raises(CommandError, match="OPERATOR_PASSWORD"):
        call_command("add_operator", "bob", "--role", "viewer")


def test_ensure_admin_creates_one_superuser_and_prints_its_password_once():
    out = io.StringIO()

    call_command("ensure_admin", stdout=out)
    call_command("ensure_admin", stdout=out)

    admin = get_user_model().objects.get(is_superuser=True)
    assert admin.username == "admin"
    password = out.getvalue().split("password: ", 1)[1].split()[0]
    assert admin.check_password(password)
    assert out.getvalue().count("password: ") == 1


def test_ensure_admin_leaves_an_installation_that_has_a_superuser():
    get_user_model().objects.create_superuser("root", password=None)

    call_command("ensure_admin", "--username", "other", stdout=io.StringIO())

    assert list(get_user_model().objects.values_list("username", flat=True)) == ["root"]


def test_ensure_admin_is_a_command_of_accounts():
    assert get_commands()["ensure_admin"] == "bounceadmin.accounts"
