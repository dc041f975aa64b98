"""The audit log page, its export and its partial, checked against an oracle in plain Python."""

import csv
import io
import json
import random
import re
import sys
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, time, timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bounceadmin.audit import services
from bounceadmin.audit.models import AuditEvent
from bounceadmin.audit.selectors import (
    EVENTS_LIMIT,
    events_for_address,
    events_for_deletion_request,
    visible_events,
)
from bounceadmin.audit.services import audit_record
from bounceadmin.bounces.models import Subuser
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
ACTORS = ["ann", "anna", "bob", "Bobby", ""]  # "" is the system
SUBUSERS = ["alpha", "beta", "gamma", "", "retired"]  # "retired" is no longer a Subuser
ADDRESSES = ["ann@x.test", "joann@x.test", "ann@x.test.evil", "Mixed@Case.test", "bob@y.test",
             "=cmd@x.test", "a_b@x.test", "x%y@x.test", "axb@x.test"]  # fmt: skip


def record_at(at, **fields) -> AuditEvent:
    """An event recorded at `at` (the model stamps the time itself)."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        return AuditEvent.objects.create(**fields)


def days_ago(n):
    return timezone.localdate() - timedelta(days=n)


def local_midnight_ago(n):
    return timezone.make_aware(datetime.combine(days_ago(n), time.min))


@pytest.fixture(scope="module")
def log(django_db_setup, django_db_blocker):
    """~400 events over 60 days, made once per module (and purged after: the application itself
    refuses to delete audit events)."""
    with django_db_blocker.unblock():
        for name in ("alpha", "beta", "gamma"):
            Subuser.objects.create(username=name)
        events = _make_log()
        yield events
        _purge_audit_events()
        Subuser.objects.all().delete()


def _purge_audit_events():
    """Behind the application's back; on PostgreSQL through the trigger's escape hatch, set for
    this transaction only."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL bounceadmin.allow_audit_purge = 'on'")
        AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)


def _make_log():
    rng = random.Random(11)
    now = timezone.now()
    events = []
    for i in range(400):
        at = now - timedelta(days=rng.uniform(0, 60))
        if i % 40 == 0:  # on the dot of a local midnight, for the date boundaries
            at = local_midnight_ago(10 + i // 40)
        events.append(
            record_at(
                at,
                actor_name=rng.choice(ACTORS),
                action=rng.choice(Action.values),
                subuser=rng.choice(SUBUSERS),
                addresses=rng.sample(ADDRESSES, rng.randint(0, 5)),
                details={"n": i, "note": rng.choice(["", "retry", "<b>bold</b>"])},
                source_ip=rng.choice([None, "198.51.100.7", "2001:db8::1"]),
                deletion_request_id=rng.choice([None, 1, 2, 3]),
            )
        )
    return events


@contextmanager
def unrecorded():
    """Setting up (operators, their roles and scopes, logins) records nothing meanwhile, so the
    log holds only what the test made. Every signal module imports `audit_record` by name."""
    real = services.audit_record
    with ExitStack() as stack:
        for name, module in list(sys.modules.items()):
            if name.startswith("bounceadmin.") and getattr(module, "audit_record", None) is real:
                stack.enter_context(mock.patch.object(module, "audit_record"))
        yield


def quiet_user(*args, **kwargs):
    with unrecorded():
        return make_user(*args, **kwargs)


def quiet_login(client, user):
    with unrecorded():
        client.force_login(user)
    return user


@pytest.fixture
def operator(client):
    return quiet_login(client, quiet_user("all-seeing"))


@pytest.fixture
def scoped(client):
    """An operator of alpha and gamma only."""
    subusers = list(Subuser.objects.filter(username__in=["alpha", "gamma"]))
    return quiet_login(client, quiet_user("scoped", subusers=subusers))


def oracle(events, **f):
    out = []
    for e in events:
        day = timezone.localtime(e.at).date()
        if "actor" in f and not e.actor_name.lower().startswith(f["actor"].strip().lower()):
            continue
        if "action" in f and e.action not in f["action"]:
            continue
        if "subuser" in f and e.subuser not in f["subuser"]:
            continue
        if "address" in f and f["address"].strip().lower() not in [a.lower() for a in e.addresses]:
            continue
        if "start_date" in f and day < f["start_date"]:
            continue
        if "end_date" in f and day > f["end_date"]:
            continue
        out.append(e)
    return out


def mine(events):
    """What the `scoped` operator may see."""
    return [e for e in events if e.subuser in ("alpha", "gamma")]


def as_query(f) -> dict:
    return {key: value if isinstance(value, list) else str(value) for key, value in f.items()}


def export_rows(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def numbers(events) -> set[int]:
    return {e.details["n"] for e in events}


CASES = [
    {},
    {"actor": "ann"},  # a prefix: ann and anna
    {"actor": "ANNA"},
    {"actor": "bob"},  # bob and Bobby
    {"actor": "annabel"},
    {"action": [Action.LOGIN]},
    {"action": [Action.DELETION_REQUESTED, Action.DELETION_APPROVED, Action.DELETION_PUSHED]},
    {"subuser": ["alpha"]},
    {"subuser": ["beta", "gamma"]},
    {"address": "ann@x.test"},  # not joann@x.test, not ann@x.test.evil
    {"address": "ANN@X.TEST"},
    {"address": "mixed@case.test"},
    {"address": "x%y@x.test"},  # % and _ are literal, not wildcards
    {"address": "a_b@x.test"},
    {"address": "nn@x.test"},
    {"address": "=cmd@x.test"},
    {"start_date": days_ago(20)},
    {"end_date": days_ago(20)},
    {"start_date": days_ago(15), "end_date": days_ago(10)},
    {"start_date": days_ago(12), "end_date": days_ago(12)},
    # combinations, as in an investigation
    {"actor": "ann", "action": [Action.DELETION_APPROVED, Action.DELETION_REJECTED],
     "subuser": ["alpha", "beta"], "start_date": days_ago(45)},
    {"address": "bob@y.test", "subuser": ["gamma"], "end_date": days_ago(5)},
    {"actor": "b", "address": "ann@x.test", "action": [Action.LOGIN_FAILED, Action.DELETION_FAILED,
     Action.REFRESH_FAILED, Action.DELETION_PUSHED]},
]  # fmt: skip


@pytest.mark.parametrize("f", CASES, ids=[json.dumps(c, default=str) for c in CASES])
def test_audit_list_and_export_return_exactly_the_matching_events(client, operator, log, f):
    expected = numbers(oracle(log, **f))
    query = as_query(f)

    page = client.get("/audit/", {**query, "per_page": 25})
    export = client.get("/audit/export.csv", query)

    assert page.status_code == 200
    table = page.context["table"]
    assert table.paginator.count == len(expected)
    listed = numbers(table.page.object_list.data)
    assert listed <= expected and len(listed) == min(25, len(expected))
    assert f"<strong>{len(expected):,}</strong>" in page.content.decode()
    rows = export_rows(export)
    assert len(rows) == len(expected)
    assert {json.loads(r["details"])["n"] for r in rows} == expected


@pytest.mark.parametrize("f", CASES[:12:3] + CASES[-3:], ids=str)
def test_a_scoped_operator_sees_only_their_subusers_events(client, scoped, log, f):
    f = {k: v for k, v in f.items() if k != "subuser"}
    expected = numbers(mine(oracle(log, **f)))

    page = client.get("/audit/", {**as_query(f), "per_page": 25})
    rows = export_rows(client.get("/audit/export.csv", as_query(f)))

    table = page.context["table"]
    assert table.paginator.count == len(expected)
    assert numbers(table.page.object_list.data) <= expected
    assert {json.loads(r["details"])["n"] for r in rows} == expected
    assert {r["subuser"] for r in rows} <= {"alpha", "gamma"}
    assert "" not in {r["subuser"] for r in rows}  # never a system event


def test_a_scoped_operator_cannot_ask_for_other_subusers(client, scoped, log):
    page = client.get("/audit/", {"subuser": "beta"})
    export = client.get("/audit/export.csv", {"subuser": "beta"})

    assert set(page.context["filter"].form.errors) == {"subuser"}
    assert page.context["table"].paginator.count == 0
    assert export.status_code == 400 and "subuser: Select a valid choice" in export.content.decode()
    choices = [value for value, _label in page.context["filter"].form.fields["subuser"].choices]
    assert choices == ["alpha", "gamma"]


def test_visible_events_follows_the_operator_scope(log):
    alpha = Subuser.objects.get(username="alpha")
    nothing = quiet_user("nothing", subusers=[])
    with unrecorded():
        no_operator = get_user_model().objects.create_user("plain", password="x-for-tests-only")
        superuser = get_user_model().objects.create_superuser("root", "r@x.test", "x-for-tests")

    assert numbers(visible_events(quiet_user("a", subusers=[alpha]))) == numbers(
        [e for e in log if e.subuser == "alpha"]
    )
    assert numbers(visible_events(quiet_user("all"))) == numbers(log)
    assert numbers(visible_events(superuser)) == numbers(log)
    assert not visible_events(nothing).exists()
    assert not visible_events(no_operator).exists()


def test_the_export_has_the_documented_columns_and_values(client, operator, log):
    event = next(e for e in log if e.actor_name and e.subuser and len(e.addresses) > 1)

    rows = export_rows(client.get("/audit/export.csv", {"actor": event.actor_name}))

    assert list(rows[0]) == ["at", "actor", "action", "subuser", "addresses", "details",
                             "source_ip", "deletion_request_id"]  # fmt: skip
    [row] = [r for r in rows if json.loads(r["details"])["n"] == event.details["n"]]
    assert row["at"] == timezone.localtime(event.at).isoformat(timespec="seconds")
    assert row["actor"] == event.actor_name
    assert row["action"] == event.action
    assert row["subuser"] == event.subuser
    cells = row["addresses"].split(" ")
    assert [c.removeprefix("'") if i == 0 else c for i, c in enumerate(cells)] == event.addresses
    assert json.loads(row["details"]) == event.details
    assert row["source_ip"] == (event.source_ip or "")
    assert row["deletion_request_id"] == str(event.deletion_request_id or "")


def test_the_export_defuses_spreadsheet_formulas(client, operator):
    make_subuser("evil")
    audit_record(Action.DELETION_REQUESTED, subuser="evil", addresses=["=cmd@x.test", "b@x.test"],
                 details={"why": "=HYPERLINK(1)"})  # fmt: skip
    audit_record(Action.LOGIN_FAILED, details={"username": "@SUM(A1)"}, key="evil-login")
    record_at(timezone.now(), actor_name="-2+3", action=Action.LOGIN)

    rows = export_rows(client.get("/audit/export.csv", {"start_date": str(timezone.localdate())}))

    evil = next(r for r in rows if r["subuser"] == "evil")
    assert evil["addresses"] == "'=cmd@x.test b@x.test"
    assert json.loads(evil["details"]) == {"why": "=HYPERLINK(1)"}  # JSON starts with {
    assert next(r for r in rows if r["actor"].startswith("'-"))["actor"] == "'-2+3"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@"))


def test_the_list_sorts_newest_first_and_by_column(client, operator, log):
    newest = sorted(log, key=lambda e: (e.at, e.pk), reverse=True)[:25]

    default = client.get("/audit/", {"per_page": 25}).context["table"].page.object_list.data
    by_actor = client.get("/audit/", {"sort": "actor_name", "per_page": 100})
    rows = export_rows(client.get("/audit/export.csv", {"sort": "actor_name"}))

    assert [e.pk for e in default] == [e.pk for e in newest]
    actors = [e.actor_name for e in by_actor.context["table"].page.object_list.data]
    assert actors == sorted(actors)
    assert [r["actor"] for r in rows] == sorted(r["actor"] for r in rows)


def test_the_list_paginates_and_keeps_its_filters(client, operator, log):
    f = {"subuser": ["alpha", "beta"]}
    expected = numbers(oracle(log, **f))

    first = client.get("/audit/", {**f, "per_page": 50}).content.decode()
    seen, page = set(), 1
    while True:
        table = client.get("/audit/", {**f, "per_page": 50, "page": page}).context["table"]
        seen |= numbers(table.page.object_list.data)
        if not table.page.has_next():
            break
        page += 1

    assert "subuser=alpha" in first and "subuser=beta" in first and "page=2" in first
    assert "per_page=50" in first
    assert seen == expected and page == -(-len(expected) // 50)


def test_the_list_shows_each_column(client, operator, log):
    html = client.get("/audit/", {"per_page": 100}).content.decode()

    assert ">system<" in html  # events without an actor
    assert "Logged in" in html and "Deletion requested" in html  # action labels
    assert "198.51.100.7" in html and "2001:db8::1" in html
    assert " more" in html  # addresses beyond the first three
    assert 'aria-current="page">Audit</a>' in html


def test_many_addresses_are_summarised(client, operator):
    make_subuser("bulk")
    addresses = [f"user{i}@x.test" for i in range(10)]
    audit_record(Action.DELETION_REQUESTED, subuser="bulk", addresses=addresses,
                 details={"addresses_total": 25_000})  # fmt: skip

    html = client.get("/audit/", {"subuser": "bulk"}).content.decode()

    assert re.search(
        r">user0@x\.test</a>, <a [^>]+>user1@x\.test</a>, <a [^>]+>user2@x\.test</a>"
        r' <span title="[^"]*user3@x\.test[^"]*">and 24,997 more</span>',
        html,
    )  # the first three link to their bounces; the rest are in the title, not the text
    assert ">user3@x.test<" not in html
    assert 'href="/bounces/?email=user0%40x.test&amp;removed=1&amp;subuser=bulk"' in html


def test_the_list_rejects_bad_filters_with_form_errors(client, operator, log):
    response = client.get("/audit/", {"action": "auth.bogus", "subuser": "nope",
                                      "start_date": "yesterday", "address": "a" * 321})  # fmt: skip
    export = client.get("/audit/export.csv", {"start_date": "yesterday"})

    assert response.status_code == 200
    assert set(response.context["filter"].form.errors) == {"action", "subuser", "start_date",
                                                           "address"}  # fmt: skip
    assert response.context["table"].paginator.count == 0
    assert "Some filters are not valid" in response.content.decode()
    assert export.status_code == 400 and "start_date: Enter a date" in export.content.decode()


@pytest.mark.parametrize(
    "query",
    [{"start_date": "0001-01-01", "end_date": "9999-12-31"}, {"end_date": "9999-12-31"},
     {"start_date": "0001-01-02"}, {"per_page": "-1"}, {"sort": "nonsense"}, {"actor": "   "},
     {"address": "   "}, {"page": "9999"}, {"page": "abc"}, {"page": "-1"}, {"per_page": "0"},
     {"per_page": "100000"}],
)  # fmt: skip
def test_odd_but_valid_input_lists_without_error(client, operator, log, query):
    response = client.get("/audit/", query)
    export = client.get("/audit/export.csv", query)

    assert response.status_code == 200
    table = response.context["table"]
    assert table.paginator.count == len(log)
    assert table.paginator.per_page == (25 if query.get("per_page") == "25" else 50)
    assert len(table.page.object_list) == 50
    assert len(export_rows(export)) == len(log)


def test_the_empty_state_says_why(client, operator, log):
    response = client.get("/audit/", {"actor": "nobody-like-this"})

    assert "No event matches every filter above" in response.content.decode()


def test_an_empty_log_says_so(client):
    quiet_login(client, quiet_user("quiet-op", subusers=[make_subuser("quiet")]))

    html = client.get("/audit/").content.decode()

    assert "<strong>0</strong> events match" in html
    assert "No event you may see has been recorded yet." in html


def test_dates_are_days_in_the_time_zone(client, operator, settings):
    settings.TIME_ZONE = "America/New_York"
    make_subuser("tz")
    late = record_at(datetime(2024, 1, 2, 3, 30, tzinfo=UTC), action=Action.LOGIN, subuser="tz")
    early = record_at(datetime(2024, 1, 2, 5, 0, tzinfo=UTC), action=Action.LOGIN, subuser="tz")

    def listed(**f):
        table = client.get("/audit/", {"subuser": "tz", **f}).context["table"]
        return {e.pk for e in table.page.object_list.data}

    # 03:30 UTC is 22:30 on 1 January in New York; 05:00 UTC is midnight on 2 January.
    assert listed(end_date="2024-01-01") == {late.pk}
    assert listed(start_date="2024-01-02") == {early.pk}
    assert listed(start_date="2024-01-01", end_date="2024-01-02") == {late.pk, early.pk}
    html = client.get("/audit/", {"subuser": "tz"}).content.decode()
    assert "2024-01-01 22:30:00" in html and "2024-01-02 00:00:00" in html


@pytest.mark.parametrize("url", ["/audit/", "/audit/export.csv", "/audit/?action=auth.login"])
def test_the_audit_pages_require_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", ["/audit/", "/audit/export.csv"])
def test_a_user_without_a_role_is_refused(client, url):
    quiet_login(client, quiet_user("norole", role=None))

    assert client.get(url).status_code == 403


def test_logins_failed_logins_and_logouts_are_recorded_with_the_source_ip(client):
    quiet_user("ann2", "right-password-1")
    start = timezone.now()

    failed = client.post("/accounts/login/", {"username": "ann2", "password": "wrong"},
                         REMOTE_ADDR="203.0.113.9")  # fmt: skip
    login = client.post("/accounts/login/", {"username": "ann2", "password": "right-password-1"},
                        REMOTE_ADDR="203.0.113.10")  # fmt: skip
    logout = client.post("/accounts/logout/", REMOTE_ADDR="2001:db8::10")

    assert failed.status_code == 200 and login.status_code == 302 and logout.status_code == 302
    events = list(AuditEvent.objects.filter(at__gte=start).order_by("id"))
    got = [(e.action, e.actor_name, e.source_ip, e.details, e.subuser) for e in events]
    assert got == [
        (Action.LOGIN_FAILED, "", "203.0.113.9", {"username": "ann2"}, ""),
        (Action.LOGIN, "ann2", "203.0.113.10", {}, ""),
        (Action.LOGOUT, "ann2", "2001:db8::10", {}, ""),
    ]


def test_login_events_show_to_operators_who_see_everything_only(client):
    start = timezone.now()
    quiet_user("watcher")
    quiet_user("limited", subusers=[make_subuser("delta")])
    for name in ("watcher", "limited"):
        client.post("/accounts/login/", {"username": name, "password": "pw-for-tests-only"},
                    REMOTE_ADDR="203.0.113.20")  # fmt: skip
    client.post("/accounts/login/", {"username": "watcher", "password": "nope"})

    def seen_by(name):
        quiet_login(client, get_user_model().objects.get(username=name))
        query = {"action": [Action.LOGIN, Action.LOGIN_FAILED], "start_date": str(start.date())}
        page = client.get("/audit/", query)
        rows = export_rows(client.get("/audit/export.csv", query))
        return {e.pk for e in page.context["table"].page.object_list.data}, rows

    recorded = {e.pk for e in AuditEvent.objects.filter(at__gte=start)}
    assert len(recorded) == 3
    listed, rows = seen_by("watcher")
    assert recorded <= listed and len(rows) == len(listed)
    listed, rows = seen_by("limited")
    assert not listed & recorded
    assert "" not in {r["subuser"] for r in rows}


def test_hostile_text_is_escaped(client, operator):
    make_subuser("hostile")
    audit_record(Action.LOGIN_FAILED, details={"username": "<script>alert('u')</script>"})
    audit_record(Action.DELETION_REQUESTED, subuser="hostile",
                 addresses=["<img src=x onerror=alert(1)>@x.test"],
                 details={"justification": '"><script>alert(2)</script>' * 20})  # fmt: skip

    html = client.get("/audit/").content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;u&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;@x.test" in html
    assert "&quot;&gt;&lt;script&gt;alert(2)" in html


# --- The partial and its selectors ----------------------------------------------------------


def test_events_for_an_address_are_that_subusers_and_scoped(log):
    alpha = Subuser.objects.get(username="alpha")
    everyone = quiet_user("everyone")
    beta_only = quiet_user("beta-only", subusers=[Subuser.objects.get(username="beta")])

    got = events_for_address(everyone, "alpha", "Ann@X.test")

    expected = sorted(oracle(log, subuser=["alpha"], address="ann@x.test"),
                      key=lambda e: (e.at, e.pk), reverse=True)  # fmt: skip
    assert [e.pk for e in got] == [e.pk for e in expected]
    assert events_for_address(beta_only, "alpha", "ann@x.test") == []
    assert (
        events_for_address(quiet_user("alpha-op", subusers=[alpha]), "alpha", "ann@x.test") == got
    )


def test_events_for_a_deletion_request_are_scoped(log):
    alpha = Subuser.objects.get(username="alpha")

    everyone = events_for_deletion_request(quiet_user("everyone"), 2)
    mine_only = events_for_deletion_request(quiet_user("alpha-op", subusers=[alpha]), 2)

    assert numbers(everyone) == numbers(e for e in log if e.deletion_request_id == 2)
    assert numbers(mine_only) == numbers(
        e for e in log if e.deletion_request_id == 2 and e.subuser == "alpha"
    )


def test_the_partial_selectors_are_bounded_newest_first():
    make_subuser("busy")
    now = timezone.now()
    made = [record_at(now - timedelta(minutes=i), action=Action.DELETION_PUSHED, subuser="busy",
                      addresses=["busy@x.test"], deletion_request_id=77)
            for i in range(EVENTS_LIMIT + 5)]  # fmt: skip

    by_address = events_for_address(quiet_user("everyone"), "busy", "busy@x.test")
    by_request = events_for_deletion_request(quiet_user("everyone2"), 77)

    assert [e.pk for e in by_address] == [e.pk for e in made[:EVENTS_LIMIT]]
    assert [e.pk for e in by_request] == [e.pk for e in made[:EVENTS_LIMIT]]


def test_the_partial_renders_events_escaped():
    events = [
        audit_record(Action.DELETION_REQUESTED, subuser="s", addresses=["<b>x</b>@x.test"],
                     details={"why": "<script>1</script>"}),
        audit_record(Action.REFRESH_FAILED, details={}),
    ]  # fmt: skip

    html = render_to_string("audit/_events.html", {"events": events})
    empty = render_to_string("audit/_events.html", {"events": []})

    assert "Deletion requested" in html and "Refresh failed" in html and "system" in html
    assert "&lt;b&gt;x&lt;/b&gt;@x.test" in html and "&lt;script&gt;1&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "No recorded events." in empty


def test_the_bounce_detail_page_shows_the_addresses_events(client, operator):
    sub = make_subuser("detail")
    bounce = make_bounce(sub, "who@x.test")
    audit_record(Action.DELETION_REQUESTED, subuser="detail", addresses=["who@x.test"],
                 details={"justification": "ticket 42"})  # fmt: skip
    audit_record(Action.DELETION_REQUESTED, subuser="other", addresses=["who@x.test"],
                 details={"justification": "elsewhere"})  # fmt: skip

    html = client.get(f"/bounces/{bounce.pk}/").content.decode()

    assert "Audit events" in html
    assert "justification=ticket 42" in html and "elsewhere" not in html
