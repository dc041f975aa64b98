from django.db import migrations

# `%` searches of addresses (LIKE '%smith%') on the other lists, on PostgreSQL: a trigram index,
# as bounces have (bounces 0005). SQLite has no equivalent; there the list walks the created index
# and stops at a page's worth of matches.
TRIGRAM_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS suppression_email_trgm ON suppressions_suppression"
    " USING gin (email gin_trgm_ops)",
]


def add_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in TRIGRAM_SQL:
            schema_editor.execute(sql)


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS suppression_email_trgm")


class Migration(migrations.Migration):
    dependencies = [("suppressions", "0001_initial")]

    operations = [migrations.RunPython(add_trigram_index, drop_trigram_index)]
