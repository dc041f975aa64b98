from django.db import migrations

# The list's sort by address (ORDER BY email, id, and the rows after a cursor in it) on
# PostgreSQL: bounce_email_pattern is text_pattern_ops, whose order is not the collation's, so it
# cannot serve ORDER BY email. On SQLite bounce_email_pattern serves both (its entries end with
# the rowid, which is the id).
CREATE = "CREATE INDEX IF NOT EXISTS bounce_email_order ON bounces_bounce (email, id)"
DROP = "DROP INDEX IF EXISTS bounce_email_order"


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("bounces", "0007_refreshrun_adjustments"),
    ]

    operations = [
        migrations.RunPython(add_index, drop_index),
    ]
