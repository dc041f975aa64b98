"""Operators with the admin role manage operators in Django admin only within the product's roles
and their own scope; every change to an operator is audited with before and after."""

import json
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from bounceadmin.accounts.roles import role_of
from bounceadmin.accounts.scoping import visible_subusers
from bounceadmin.accounts.services import operator_save
from bounceadmin.audit.models import AuditEvent
from bounceadmin.bounces.models import Subuser
from tests.support.adminforms import form_fields, submit
from tests.support.factories import make_subuser, make_user

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


def group(name: str) -> Group:
    return Group.objects.get_or_create(name=name)[0]


def scope_of(user) -> set[str]:
    user = User.objects.get(pk=user.pk)  # fresh: the scope is memoised on the object
    return {s.username for s in visible_subusers(user)}


def events_about(username: str, after: int) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(pk__gt=after).order_by("pk")
    return [e for e in events if e.details.get("operator") == username]


def last_event_id() -> int:
    last = AuditEvent.objects.order_by("-pk").first()
    return last.pk if last else 0


# --- what an admin-role operator may change ------------------------------------------------


@pytest.mark.parametrize("target", ["ada", "vic"])
def test_admin_role_cannot_grant_superuser_staff_groups_or_permissions(client, world, target):
    user = getattr(world, target)
    raw = group("raw-powers")
    raw.permissions.add(Permission.objects.get(codename="change_group"))
    url = f"{USERS}{user.pk}/change/"
    offered = form_fields(client.get(url).content.decode())[1]

    submit(client, url, is_superuser=True, is_staff=True, groups=[group("admin").pk, raw.pk],
           user_permissions=[Permission.objects.get(codename="delete_user").pk])  # fmt: skip

    user.refresh_from_db()
    assert not user.is_superuser
    assert user.is_staff == (target == "ada")
    assert not user.user_permissions.exists()
    assert "raw-powers" not in set(user.groups.values_list("name", flat=True))
    assert role_of(user) == ("admin" if target == "ada" else "viewer")
    assert not {"is_superuser", "is_staff", "groups", "user_permissions"} & offered


@pytest.mark.parametrize("how", ["list", "all"])
def test_admin_role_cannot_widen_their_own_scope(client, world, how):
    ids = [world.alpha.pk, world.beta.pk] + ([world.gamma.pk] if how == "list" else [])

    submit(client, f"{USERS}{world.ada.pk}/change/", subusers=ids, all_subusers=how == "all")

    assert scope_of(world.ada) == {"alpha", "beta"}


def test_admin_role_lists_only_users_within_their_scope(client, world):
    response = client.get(USERS)

    listed = {u.username for u in response.context["cl"].result_list}
    assert listed == {"ada", "vic"}


@pytest.mark.parametrize("target", ["root", "otto", "abby"])
def test_admin_role_gets_404_on_users_beyond_their_scope(client, world, target):
    user = getattr(world, target)

    statuses = {
        page: client.get(f"{USERS}{user.pk}/{page}/").status_code
        for page in ("change", "password", "history", "delete")
    }

    assert all(status in (403, 404) for status in statuses.values()), statuses


def test_admin_role_cannot_set_the_superusers_password(client, world):
    response = client.post(
        f"{USERS}{world.root.pk}/password/",
        {"password1": "taken-over-1234", "password2": "taken-over-1234", "usable_password": "true"},
    )

    world.root.refresh_from_db()
    assert response.status_code in (403, 404)
    assert world.root.check_password(PASSWORD)


def test_admin_role_cannot_open_groups_or_permissions(client, world):
    assert client.get("/admin/auth/group/").status_code == 403
    assert client.get(f"/admin/auth/group/{group('admin').pk}/change/").status_code == 403


def create_operator(client, **fields):
    """The whole creation flow of Django admin: the add page, then the new user's change page
    (where the add page leads to). Every field is offered on both."""
    submit(client, f"{USERS}add/", username="eve", password1="a-long-password-42",
           password2="a-long-password-42", usable_password="true", **fields)  # fmt: skip
    created = User.objects.filter(username="eve").first()
    if created is not None:
        submit(client, f"{USERS}{created.pk}/change/", **fields)
    return User.objects.filter(username="eve").first()


@pytest.mark.parametrize("how", ["list", "all"])
def test_admin_role_cannot_create_an_operator_beyond_their_scope(client, world, how):
    wider = (
        {"subusers": [world.alpha.pk, world.gamma.pk]}
        if how == "list"
        else {"subusers": [world.alpha.pk], "all_subusers": True}
    )

    eve = create_operator(client, role="admin", groups=[group("admin").pk], **wider)

    assert eve is None or scope_of(eve) <= {"alpha", "beta"}
    assert eve is None or how == "all"  # a listed subuser beyond the editor's scope is refused


@pytest.mark.parametrize(
    "role, scope", [("requester", ["beta"]), ("admin", ["alpha", "beta"]), ("approver", "all")]
)
def test_admin_role_creates_an_operator_within_their_scope_audited(client, world, role, scope):
    editor = "ada"
    if scope == "all":  # only an admin who sees every subuser may grant them all
        editor = "boss"
        operator_save(username=editor, role="admin", subusers=None, password=PASSWORD)
        client.force_login(User.objects.get(username=editor))
        fields = {"all_subusers": True}
    else:
        fields = {"subusers": [Subuser.objects.get(username=name).pk for name in scope]}
    mark = last_event_id()

    response = submit(client, f"{USERS}add/", username="eve", password1="a-long-password-42",
                      password2="a-long-password-42", usable_password="true", role=role,
                      **fields)  # fmt: skip

    eve = User.objects.get(username="eve")
    assert response.status_code == 302
    assert role_of(eve) == role and eve.is_staff == (role == "admin")
    assert scope_of(eve) == ({"alpha", "beta", "gamma"} if scope == "all" else set(scope))
    [created] = events_about("eve", mark)
    assert created.action == AuditEvent.Action.OPERATOR_CREATED
    assert created.actor_name == editor
    assert created.details["password"] == f"set by {editor}"
    after = created.details["after"]
    assert (after["role"], after["all_subusers"]) == (role, scope == "all")
    assert after["subusers"] == ([] if scope == "all" else scope)
    assert eve.password not in json.dumps(created.details)


# --- subusers come from SendGrid -------------------------------------------------------------


def test_subuser_name_is_read_only_in_admin_and_others_hidden(client, world):
    url = f"/admin/bounces/subuser/{world.alpha.pk}/change/"

    submit(client, url, username="renamed", sendgrid_id=99, upstream_state="gone", region="eu")
    hidden = client.get(f"/admin/bounces/subuser/{world.gamma.pk}/change/")

    world.alpha.refresh_from_db()
    assert (world.alpha.username, world.alpha.sendgrid_id, world.alpha.upstream_state) == (
        "alpha", None, Subuser.UpstreamState.ACTIVE,
    )  # fmt: skip
    assert world.alpha.region == "global"  # upstream's, routing its calls: never set here
    assert hidden.status_code in (302, 403, 404)


# --- the audit of operator changes -----------------------------------------------------------


def test_operator_change_in_admin_is_one_event_with_before_and_after(client, world):
    mark = last_event_id()

    submit(client, f"{USERS}{world.vic.pk}/change/", role="requester",
           groups=[group("requester").pk], subusers=[world.alpha.pk, world.beta.pk],
           is_active=False)  # fmt: skip

    [event] = events_about("vic", mark)
    assert event.action == AuditEvent.Action.ROLE_CHANGED
    assert event.actor_name == "ada"
    assert event.details["before"] == {"role": "viewer", "subusers": ["alpha"], "is_active": True}
    assert event.details["after"] == {
        "role": "requester", "subusers": ["alpha", "beta"], "is_active": False,
    }  # fmt: skip


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


def test_admin_filters_name_no_subuser_or_group_beyond_the_admins_scope(client):
    mine = make_subuser("mine-co")
    make_subuser("gamma-secret")  # outside the admin's scope
    admin_user = make_user("ada", role="admin", subusers=[mine], is_staff=True)
    client.force_login(admin_user)

    for url in ("/admin/bounces/bounce/", "/admin/bounces/refreshrun/", "/admin/auth/user/"):
        html = client.get(url).content.decode()
        assert "gamma-secret" not in html, url
    assert "By groups" not in client.get("/admin/auth/user/").content.decode()
