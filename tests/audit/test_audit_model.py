"""The audit log is append-only in the application (any database) and in Django admin."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from bounceadmin.audit.models import AppendOnlyError, AuditEvent
from bounceadmin.audit.services import audit_record
from tests.support.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_record(
        AuditEvent.Action.DELETION_REQUESTED, subuser="alpha", addresses=["a@x.test"],
        details={"total": 1},
    )  # fmt: skip


def _unchanged(event):
    fresh = AuditEvent.objects.get(pk=event.pk)
    assert (fresh.subuser, fresh.addresses, fresh.details) == ("alpha", ["a@x.test"], {"total": 1})
    # (Making and logging in users records events of their own.)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DELETION_REQUESTED).count() == 1


def test_saving_an_existing_event_is_refused(event):
    event.subuser = "rewritten"

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["subuser"])
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.get(pk=event.pk).save()
    _unchanged(event)


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    _unchanged(event)


@pytest.mark.parametrize(
    "change",
    [
        lambda: AuditEvent.objects.update(subuser="rewritten"),
        lambda: AuditEvent.objects.filter(subuser="alpha").update(details={}),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.filter(subuser="alpha").delete(),
        lambda: AuditEvent.objects.bulk_update(
            [AuditEvent(pk=AuditEvent.objects.get().pk, subuser="x")], ["subuser"]
        ),
        lambda: AuditEvent.objects.update_or_create(subuser="alpha", defaults={"details": {}}),
    ],
    ids=[
        "update",
        "filtered-update",
        "delete",
        "filtered-delete",
        "bulk_update",
        "update_or_create",
    ],
)
def test_bulk_changes_are_refused(event, change):
    # (bulk_update fails inside its own transaction; the savepoint keeps the test's usable.)
    with pytest.raises(AppendOnlyError), transaction.atomic():
        change()
    _unchanged(event)


def test_a_forced_insert_cannot_overwrite_an_event(event):
    copy = AuditEvent.objects.get(pk=event.pk)
    copy.subuser = "rewritten"

    with pytest.raises(IntegrityError):
        copy.save(force_insert=True)


def test_deleting_the_actor_keeps_the_event_and_its_name():
    user = make_user("leaver")
    audit_record(AuditEvent.Action.LOGIN, actor=user)

    get_user_model().objects.filter(pk=user.pk).delete()

    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN)
    assert event.actor_name == "leaver"


def test_recording_with_a_key_records_once():
    first = audit_record(AuditEvent.Action.REFRESH_FINISHED, subuser="alpha", key="x")
    second = audit_record(AuditEvent.Action.REFRESH_FINISHED, subuser="alpha", key="x")
    other = audit_record(AuditEvent.Action.REFRESH_FINISHED, subuser="alpha", key="y")

    assert first is not None and other is not None
    assert second is None
    assert AuditEvent.objects.filter(key="x").count() == 1
    assert AuditEvent.objects.count() == 2


def test_recording_more_addresses_than_kept_counts_them():
    from bounceadmin.audit.services import MAX_ADDRESSES

    many = [f"a{i}@x.test" for i in range(MAX_ADDRESSES + 5)]

    event = audit_record(AuditEvent.Action.DELETION_REQUESTED, subuser="alpha", addresses=many)

    assert len(event.addresses) == MAX_ADDRESSES
    assert event.details["addresses_total"] == MAX_ADDRESSES + 5


# --- Django admin ---------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@x.test", "pw-for-tests-only")
    client.force_login(user)
    return client


ADMIN = "/admin/audit/auditevent/"


def test_admin_lists_events_without_a_delete_action(superuser_client, event):
    response = superuser_client.get(ADMIN)

    html = response.content.decode()
    assert response.status_code == 200
    assert "alpha" in html
    assert "delete_selected" not in html
    assert f"{ADMIN}add/" not in html
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(
        response.wsgi_request
    )


def test_admin_searches_by_actor_and_subuser(superuser_client, event):
    audit_record(AuditEvent.Action.LOGIN, actor=make_user("searchable"))

    by_actor = superuser_client.get(ADMIN, {"q": "searchable"}).context["cl"].result_list
    by_subuser = superuser_client.get(ADMIN, {"q": "alpha"}).context["cl"].result_list

    assert [e.actor_name for e in by_actor] == ["searchable"]
    assert [e.subuser for e in by_subuser] == ["alpha"]


def test_admin_change_page_is_read_only_and_refuses_a_save(superuser_client, event):
    url = f"{ADMIN}{event.pk}/change/"

    view = superuser_client.get(url)
    post = superuser_client.post(url, {"subuser": "rewritten", "action": event.action})

    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert "/delete/" not in view.content.decode()
    assert post.status_code == 403
    _unchanged(event)


@pytest.mark.parametrize("method", ["get", "post"])
def test_admin_refuses_add_and_delete(superuser_client, event, method):
    send = getattr(superuser_client, method)

    add = send(f"{ADMIN}add/", {"action": "auth.login"} if method == "post" else None)
    delete = send(f"{ADMIN}{event.pk}/delete/", {"post": "yes"} if method == "post" else None)
    bulk = superuser_client.post(
        ADMIN, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )

    assert add.status_code == 403
    assert delete.status_code == 403
    assert bulk.status_code in (200, 302)  # "no action selected", nothing deleted
    _unchanged(event)


def test_admin_list_is_scoped_like_the_app(client, event):
    from bounceadmin.bounces.models import Subuser

    beta = Subuser.objects.create(username="beta")
    audit_record(AuditEvent.Action.DELETION_REQUESTED, subuser="beta")
    staff = make_user("staff-scoped", subusers=[beta], is_staff=True)
    client.force_login(staff)

    listed = client.get(ADMIN).context["cl"].result_list

    assert [e.subuser for e in listed] == ["beta"]
