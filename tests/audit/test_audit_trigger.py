"""On PostgreSQL the audit table refuses UPDATE, DELETE and TRUNCATE at the database itself, so
not even raw SQL past the application rewrites history; only the documented per-session escape
hatch (`SET bounceadmin.allow_audit_purge = 'on'`) lets a retention purge through."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import errors

from tests.support.postgres import postgres_url  # noqa: F401  (the session fixture)

REPO = Path(__file__).resolve().parents[2]

# Runs inside the app (on PostgreSQL): records through the service and checks the parts of the
# audit code that have PostgreSQL-specific SQL or behaviour.
APP_SCRIPT = """
import json
from bounceadmin.audit.models import AppendOnlyError, AuditEvent
from bounceadmin.audit.selectors import with_address
from bounceadmin.audit.services import audit_record

first = audit_record("deletion.requested", subuser="alpha", key="pg-1",
                     addresses=["ann@x.test", "Mixed@Case.test"], details={"total": 2})
again = audit_record("deletion.requested", subuser="alpha", key="pg-1")
audit_record("auth.login_failed", addresses=["joann@x.test"], details={"username": "<b>"})
audit_record("refresh.started", details={"addresses": ["ann@x.test"]})
refused = []
for attempt in (lambda: AuditEvent.objects.update(subuser="x"),
                lambda: AuditEvent.objects.all().delete(),
                lambda: first.save()):
    try:
        attempt()
    except AppendOnlyError:
        refused.append(True)
events = AuditEvent.objects.all()
print(json.dumps({
    "again": again is None,
    "refused": refused,
    "ann": sorted(e.key or "" for e in with_address(events, "ANN@x.test ")),
    "mixed": with_address(events, "mixed@case.test").count(),
    "part": with_address(events, "nn@x.test").count(),
    "joann": with_address(events, "joann@x.test").count(),
}))
"""


def _app_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATA_DIR": str(settings.DATA_DIR),
    }


def _manage(url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO, env=_app_env(url), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def audited(postgres_url):  # noqa: F811
    """The app's schema migrated into the throwaway server, with events recorded by the app."""
    _manage(postgres_url, "migrate", "--noinput", "--verbosity", "0")
    report = json.loads(_manage(postgres_url, "shell", "-c", APP_SCRIPT).strip().splitlines()[-1])
    return postgres_url, report


ROW = "SELECT id, at, actor_name, action, subuser, addresses, details, key FROM audit_auditevent"


def _rows(conn) -> list[tuple]:
    return conn.execute(ROW + " ORDER BY id").fetchall()


def test_the_app_records_once_per_key_and_refuses_changes_on_postgresql(audited):
    _url, report = audited

    assert report["again"] is True
    assert report["refused"] == [True, True, True]


def test_address_filter_is_exact_and_case_insensitive_on_postgresql(audited):
    _url, report = audited

    assert report["ann"] == ["pg-1"]  # not joann@, not an address inside details
    assert report["mixed"] == 1
    assert report["part"] == 0
    assert report["joann"] == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET subuser = 'rewritten', details = '{}' WHERE key = 'pg-1'",
        "UPDATE audit_auditevent SET actor_name = 'nobody'",
        "DELETE FROM audit_auditevent WHERE key = 'pg-1'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_the_database_refuses_to_change_history(audited, statement):
    url, _report = audited
    with psycopg.connect(url) as conn:
        before = _rows(conn)

        with pytest.raises(errors.InsufficientPrivilege) as refused:
            conn.execute(statement)
        conn.rollback()

        assert refused.value.sqlstate == "42501"
        assert "append-only" in str(refused.value)
        assert _rows(conn) == before
        assert any(row[-1] == "pg-1" for row in before)


def test_only_the_session_escape_hatch_lets_a_purge_through(audited):
    url, _report = audited
    with psycopg.connect(url, autocommit=True) as purger, psycopg.connect(url) as other:
        total = len(_rows(purger))
        purger.execute("SET bounceadmin.allow_audit_purge = 'on'")

        updated = purger.execute(
            "UPDATE audit_auditevent SET subuser = 'purged' WHERE key = 'pg-1'"
        ).rowcount
        # The setting is the session's own: another connection is still refused.
        with pytest.raises(errors.InsufficientPrivilege):
            other.execute("DELETE FROM audit_auditevent")
        other.rollback()
        deleted = purger.execute("DELETE FROM audit_auditevent WHERE key = 'pg-1'").rowcount
        left = len(_rows(purger))
        purger.execute("TRUNCATE audit_auditevent")
        purger.execute("RESET bounceadmin.allow_audit_purge")
        with pytest.raises(errors.InsufficientPrivilege):
            purger.execute("TRUNCATE audit_auditevent")

        assert (updated, deleted, left) == (1, 1, total - 1)
        assert _rows(purger) == []


@pytest.mark.django_db
def test_the_suites_own_connections_meet_the_trigger_too():
    """When the whole suite runs on PostgreSQL, only a test-database flush may empty the table
    (tests/pgbackend): the code under test still meets the trigger as in production."""
    from django.db import DatabaseError, connection, transaction

    from bounceadmin.audit.services import audit_record

    if connection.vendor != "postgresql":
        pytest.skip("this pass runs on SQLite")
    audit_record("auth.login", key="suite-1")

    for statement in ("UPDATE audit_auditevent SET subuser = 'x'", "DELETE FROM audit_auditevent",
                      "TRUNCATE audit_auditevent"):  # fmt: skip
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(statement)

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('bounceadmin.allow_audit_purge', true)")
        assert cursor.fetchone()[0] in (None, "")
