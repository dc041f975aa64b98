"""PostgreSQL for the test suite: Django's backend, except that a test-database flush may empty
the append-only audit table.

Django's TransactionTestCase (pytest-django's `transactional_db`, the live-server and worker tests)
empties every table after each test with one TRUNCATE, which the audit trigger refuses
(bounceadmin/audit/migrations/0002_append_only_trigger.py). The flush sets the trigger's
documented escape hatch for its own transaction only (SET LOCAL), so everything else the tests
run, in this process, the live server and the workers, still meets the trigger as production
does.
"""

from django.db.backends.postgresql import base, operations

ALLOW_AUDIT_PURGE = "SET LOCAL bounceadmin.allow_audit_purge = 'on'"


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        sql = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        # execute_sql_flush runs the list in one transaction: the setting ends with it.
        return [ALLOW_AUDIT_PURGE, *sql] if sql else sql


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
